//! A cluster of realistic size as manifests: one file per service (Service,
//! EndpointSlice and its pods), so a change re-reads one small file, as a controller
//! updating one EndpointSlice would.

use std::fmt::Write as _;

pub const NODES: u32 = 20;
pub const SERVICES: u32 = 100;
pub const PODS_PER_SERVICE: u32 = 10;

/// Records one cluster exports: its cluster record, nodes, one identity per service
/// (pods of a service share labels), endpoints and global services.
pub fn record_count() -> u32 {
    1 + NODES + SERVICES + SERVICES * PODS_PER_SERVICE + SERVICES
}

pub fn nodes(cluster: &str, id: u32) -> String {
    let mut out = String::new();
    for n in 0..NODES {
        let _ = write!(
            out,
            "apiVersion: v1\nkind: Node\nmetadata:\n  name: {cluster}-node{n}\nspec:\n  podCIDR: 10.{id}.{n}.0/24\nstatus:\n  addresses:\n  - type: InternalIP\n    address: 192.168.{id}.{}\n---\n",
            n + 1
        );
    }
    out
}

fn pod_ip(id: u32, service: u32, pod: u32) -> String {
    let n = (service * PODS_PER_SERVICE + pod) % NODES;
    let host = (service * PODS_PER_SERVICE + pod) / NODES + 2;
    format!("10.{id}.{n}.{host}")
}

/// Service `s`, its pods and its slice; `not_ready` marks the first pod's backend.
pub fn service(cluster: &str, id: u32, s: u32, not_ready: bool) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc{s}\n  namespace: bench\n  annotations:\n    clustermesh.io/global: \"true\"\nspec:\n  clusterIP: 10.96.{id}.{}\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n---\n",
        s + 1
    );
    let mut endpoints = String::new();
    for p in 0..PODS_PER_SERVICE {
        let ip = pod_ip(id, s, p);
        let node = (s * PODS_PER_SERVICE + p) % NODES;
        let _ = write!(
            out,
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: svc{s}-{p}\n  namespace: bench\n  labels:\n    app: svc{s}\nspec:\n  nodeName: {cluster}-node{node}\n  containers:\n  - name: app\n    image: app\nstatus:\n  phase: Running\n  podIP: {ip}\n---\n"
        );
        let ready = !(not_ready && p == 0);
        let _ = write!(
            endpoints,
            "- addresses: [\"{ip}\"]\n  nodeName: {cluster}-node{node}\n  conditions:\n    ready: {ready}\n"
        );
    }
    let _ = write!(
        out,
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc{s}-x\n  namespace: bench\n  labels:\n    kubernetes.io/service-name: svc{s}\naddressType: IPv4\nports:\n- name: http\n  port: 8080\n  protocol: TCP\nendpoints:\n{endpoints}"
    );
    out
}
