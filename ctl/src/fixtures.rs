//! Wire-form records shared by the unit tests of `services` and `drill`.

use clustermesh_proto::pb;

/// A backend with one port, `http` 8080/TCP, on `node` (empty: none).
pub fn backend(ip: &str, node: &str, ready: bool) -> pb::Backend {
    pb::Backend {
        ip: ip.into(),
        ports: vec![pb::BackendPort {
            name: "http".into(),
            port: 8080,
            protocol: pb::Protocol::Tcp as i32,
        }],
        node: node.into(),
        zone: String::new(),
        ready,
        serving: ready,
        terminating: false,
    }
}

/// A shared, reachable copy of a service in `cluster`.
pub fn copy(cluster: &str, backends: Vec<pb::Backend>) -> pb::ClusterBackends {
    pb::ClusterBackends {
        cluster: cluster.into(),
        shared: true,
        reachable: true,
        backends,
    }
}
