//! The manifests each cluster's apiserver reads: its node, a backend pod and the global
//! service `demo/web` on the shared VIP, with the backend in its EndpointSlice.

use std::path::Path;

use super::topology::Cluster;

/// The global service's ClusterIP, the same in both clusters.
pub const VIP: &str = "10.96.0.10";

/// The whole cluster; `ready` is the backend's readiness, `local` sets local affinity.
pub fn objects(c: &Cluster, ready: bool, local: bool) -> String {
    let (name, node, cidr, underlay, pod) = (
        c.name,
        c.node_name(),
        c.pod_cidr(),
        c.underlay_ip(),
        c.backend_ip(),
    );
    let affinity = if local {
        "    clustermesh.io/affinity: local\n"
    } else {
        ""
    };
    format!(
        "apiVersion: v1
kind: Node
metadata:
  name: {node}
spec:
  podCIDR: {cidr}
  podCIDRs: [\"{cidr}\"]
status:
  addresses:
  - type: InternalIP
    address: {underlay}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-{name}
  namespace: demo
  labels:
    app: web
spec:
  nodeName: {node}
  containers:
  - name: web
    image: web
status:
  phase: Running
  podIP: {pod}
  podIPs:
  - ip: {pod}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations:
    clustermesh.io/global: \"true\"
{affinity}spec:
  clusterIP: {VIP}
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: http
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-{name}
  namespace: demo
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
- name: http
  port: 8080
  protocol: TCP
endpoints:
- addresses: [\"{pod}\"]
  nodeName: {node}
  conditions:
    ready: {ready}
    serving: {ready}
    terminating: false
"
    )
}

/// Replaces `dir/file` atomically (temp file, then rename), as a ConfigMap update does.
pub fn write(dir: &Path, file: &str, contents: &str) {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, contents).expect("write the manifest's temp file");
    std::fs::rename(&tmp, dir.join(file)).expect("rename the manifest into place");
}
