//! The manifests each test cluster serves: one node, one pod, and the global service
//! `demo/web` with that pod as its backend.

use std::path::Path;

pub fn pod_cidr(id: u32) -> String {
    format!("10.{id}.0.0/24")
}

pub fn pod_ip(id: u32) -> String {
    format!("10.{id}.0.10")
}

/// The whole cluster; `ready` is the backend's readiness.
pub fn cluster(cluster: &str, id: u32, ready: bool) -> String {
    [
        node(cluster, id),
        pod(cluster, id),
        service(id, ""),
        slice(cluster, id, ready),
    ]
    .join("---\n")
}

pub fn node(cluster: &str, id: u32) -> String {
    let cidr = pod_cidr(id);
    format!(
        "apiVersion: v1
kind: Node
metadata:
  name: {cluster}-node1
  labels:
    topology.kubernetes.io/zone: {cluster}-zone-a
spec:
  podCIDR: {cidr}
  podCIDRs: [\"{cidr}\"]
status:
  addresses:
  - type: InternalIP
    address: 192.168.{id}.10
"
    )
}

pub fn pod(cluster: &str, id: u32) -> String {
    let ip = pod_ip(id);
    format!(
        "apiVersion: v1
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
"
    )
}

/// `demo/web`, global; `extra_annotations` are added as YAML lines.
pub fn service(id: u32, extra_annotations: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  annotations:
    clustermesh.io/global: \"true\"
{extra_annotations}spec:
  clusterIP: 10.96.{id}.10
  ports:
  - name: http
    port: 80
    protocol: TCP
"
    )
}

pub fn slice(cluster: &str, id: u32, ready: bool) -> String {
    let ip = pod_ip(id);
    format!(
        "apiVersion: discovery.k8s.io/v1
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
  nodeName: {cluster}-node1
  conditions:
    ready: {ready}
    serving: {ready}
    terminating: false
"
    )
}

/// Replaces `file` atomically, as editors and ConfigMap updates do.
pub fn write(dir: &Path, file: &str, contents: &str) {
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, contents).expect("write manifest");
    std::fs::rename(&tmp, dir.join(file)).expect("rename manifest");
}
