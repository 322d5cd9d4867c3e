//! What each test cluster serves: one node, one pod, and the global service `demo/web`
//! with that pod as its backend.

use std::path::Path;

/// One cluster's addresses; `net` is the second octet of all of them.
#[derive(Debug, Clone, Copy)]
pub struct Ranges {
    pub net: u8,
    /// Third octet of the node's pod CIDR and the pod IP, to make overlapping ranges.
    pub sub: u8,
}

impl Ranges {
    pub fn of(net: u8) -> Self {
        Self { net, sub: 0 }
    }

    pub fn node_cidr(&self) -> String {
        format!("10.{}.{}.0/24", self.net, self.sub)
    }

    pub fn pod_ip(&self) -> String {
        format!("10.{}.{}.10", self.net, self.sub)
    }

    pub fn vip(&self) -> String {
        format!("10.96.{}.10", self.net)
    }
}

/// The whole cluster. With `backend_on_node`, the EndpointSlice names the pod's node,
/// whose lease is then checked by backend selection; without, it names none.
pub fn cluster(cluster: &str, ranges: Ranges, backend_on_node: bool) -> String {
    let node_cidr = ranges.node_cidr();
    let (ip, vip, net) = (ranges.pod_ip(), ranges.vip(), ranges.net);
    let node_name = if backend_on_node {
        format!("  nodeName: {cluster}-node1\n")
    } else {
        String::new()
    };
    format!(
        "apiVersion: v1
kind: Node
metadata:
  name: {cluster}-node1
  labels:
    topology.kubernetes.io/zone: {cluster}-zone-a
spec:
  podCIDR: {node_cidr}
  podCIDRs: [\"{node_cidr}\"]
status:
  addresses:
  - type: InternalIP
    address: 192.168.{net}.10
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: demo
  labels:
    app: web
spec:
  nodeName: {cluster}-node1
  containers:
  - name: web
    image: web
status:
  phase: Running
  podIP: {ip}
  podIPs:
  - ip: {ip}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations:
    clustermesh.io/global: \"true\"
spec:
  clusterIP: {vip}
  ports:
  - name: http
    port: 80
    protocol: TCP
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: demo
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
- name: http
  port: 8080
  protocol: TCP
endpoints:
- addresses: [\"{ip}\"]
{node_name}  conditions:
    ready: true
    serving: true
    terminating: false
"
    )
}

pub fn write(dir: &Path, file: &str, contents: &str) {
    std::fs::write(dir.join(file), contents).expect("write manifest");
}
