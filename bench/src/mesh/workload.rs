//! A cluster of any size as the Kubernetes objects a source delivers: nodes, pods
//! labelled by service (one identity per service), and global services whose
//! EndpointSlice lists the first of their pods (at most [`SLICE_MAX`], one full slice).
//!
//! Addresses: cluster `c` owns pods in `10.(16c).0.0/12`; node `n` gets the `/20` at
//! offset `n * 4096`, so 250 nodes hold a million pods. For churn a pod moves through
//! the generations of its address: generation `g` sits `g` times the node's pod count
//! further into the node's block, wrapping when the block is full.

use std::{collections::BTreeMap, net::Ipv4Addr};

use clustermesh_apiserver::source::{ClusterObjects, ObjectRef};
use k8s_openapi::api::core::v1::{
    Node, NodeAddress, NodeSpec, NodeStatus, Pod, PodSpec, PodStatus, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub const NAMESPACE: &str = "bench";
/// Addresses per node: a `/20`.
const NODE_BLOCK: u32 = 4096;
/// Backends listed per global service: one full EndpointSlice.
pub const SLICE_MAX: usize = 100;

#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// 1-based; names the address ranges.
    pub cluster_index: u32,
    pub nodes: u32,
    pub pods: u32,
    pub services: u32,
    /// Backends listed per service, at most [`SLICE_MAX`].
    pub backends: usize,
}

impl Shape {
    pub fn pod_cidr(&self) -> String {
        format!("10.{}.0.0/12", 16 * self.cluster_index)
    }

    fn base(&self) -> u32 {
        u32::from(Ipv4Addr::new(10, (16 * self.cluster_index) as u8, 0, 0))
    }

    fn node_of(&self, pod: u32) -> u32 {
        pod % self.nodes
    }

    /// Pod `pod`'s address in `generation` (0: where the pod starts).
    pub fn pod_ip(&self, pod: u32, generation: u32) -> Ipv4Addr {
        let per_node = self.pods.div_ceil(self.nodes.max(1)).max(1);
        let slot = generation % self.generations();
        let host = pod / self.nodes + 2 + slot * per_node;
        Ipv4Addr::from(self.base() + self.node_of(pod) * NODE_BLOCK + host)
    }

    /// How many distinct addresses each pod moves through before one comes back.
    pub fn generations(&self) -> u32 {
        let per_node = self.pods.div_ceil(self.nodes.max(1)).max(1);
        ((NODE_BLOCK - 2) / per_node).max(1)
    }

    fn service_of(&self, pod: u32) -> u32 {
        pod % self.services
    }

    /// Records the cluster exports: cluster, nodes, identities (one per service),
    /// endpoints and global services.
    pub fn record_count(&self) -> usize {
        (1 + self.nodes + self.services.min(self.pods) + self.pods + self.services) as usize
    }
}

pub fn node_name(cluster: &str, node: u32) -> String {
    format!("{cluster}-node{node}")
}

/// Every object of a cluster of `shape`.
pub fn objects(cluster: &str, shape: Shape) -> ClusterObjects {
    let mut objects = ClusterObjects::default();
    for n in 0..shape.nodes {
        let name = node_name(cluster, n);
        objects.nodes.insert(name.clone(), node(&name, shape, n));
    }
    let mut backends: Vec<Vec<Endpoint>> = vec![Vec::new(); shape.services as usize];
    for p in 0..shape.pods {
        let (name, pod) = pod(cluster, shape, p, 0);
        let slice = &mut backends[shape.service_of(p) as usize];
        if slice.len() < shape.backends.min(SLICE_MAX) {
            slice.push(Endpoint {
                addresses: vec![shape.pod_ip(p, 0).to_string()],
                conditions: Some(EndpointConditions {
                    ready: Some(true),
                    ..Default::default()
                }),
                node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
                ..Default::default()
            });
        }
        objects.pods.insert(name, pod.into());
    }
    for (s, endpoints) in backends.into_iter().enumerate() {
        let s = s as u32;
        let name = service_name(s);
        let key = ObjectRef {
            namespace: NAMESPACE.into(),
            name: name.clone(),
        };
        objects.services.insert(key.clone(), service(&name, s));
        objects
            .endpoint_slices
            .insert(key, endpoint_slice(&name, endpoints));
    }
    objects
}

/// Moves pod `pod` to its address of `generation`; returns that address.
pub fn move_pod(
    objects: &mut ClusterObjects,
    cluster: &str,
    shape: Shape,
    pod: u32,
    generation: u32,
) -> Ipv4Addr {
    let (name, new) = self::pod(cluster, shape, pod, generation);
    objects.pods.insert(name, new.into());
    shape.pod_ip(pod, generation)
}

/// The endpoint record pod `pod` exports at its address of `generation`, as cluster
/// `cluster` (id `id`) exports it: what the baselines put into etcd.
pub fn endpoint_record(
    cluster: &str,
    id: u32,
    shape: Shape,
    pod: u32,
    generation: u32,
) -> anyhow::Result<clustermesh_proto::Record> {
    let endpoint = clustermesh_proto::pb::Endpoint {
        cluster: cluster.to_owned(),
        ip: shape.pod_ip(pod, generation).to_string(),
        identity: id << 16 | (shape.service_of(pod) + 1),
        node: node_name(cluster, shape.node_of(pod)),
        namespace: NAMESPACE.into(),
        pod: pod_name(shape, pod),
    };
    Ok(clustermesh_proto::Record::Endpoint(endpoint.try_into()?))
}

fn pod_name(shape: Shape, p: u32) -> String {
    format!("{}-{p}", service_name(shape.service_of(p)))
}

fn service_name(s: u32) -> String {
    format!("svc{s}")
}

fn meta(name: &str, labels: &[(&str, String)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(NAMESPACE.into()),
        labels: (!labels.is_empty()).then(|| {
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>()
        }),
        ..Default::default()
    }
}

fn node(name: &str, shape: Shape, n: u32) -> Node {
    let block = Ipv4Addr::from(shape.base() + n * NODE_BLOCK);
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidr: Some(format!("{block}/20")),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            addresses: Some(vec![NodeAddress {
                type_: "InternalIP".into(),
                address: format!("192.168.{}.{}", shape.cluster_index, n % 250 + 1),
            }]),
            ..Default::default()
        }),
    }
}

fn pod(cluster: &str, shape: Shape, p: u32, generation: u32) -> (ObjectRef, Pod) {
    let service = service_name(shape.service_of(p));
    let name = pod_name(shape, p);
    let pod = Pod {
        metadata: meta(&name, &[("app", service)]),
        spec: Some(PodSpec {
            node_name: Some(node_name(cluster, shape.node_of(p))),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            pod_ip: Some(shape.pod_ip(p, generation).to_string()),
            ..Default::default()
        }),
    };
    let key = ObjectRef {
        namespace: NAMESPACE.into(),
        name,
    };
    (key, pod)
}

fn service(name: &str, s: u32) -> Service {
    let mut metadata = meta(name, &[]);
    metadata.annotations = Some(BTreeMap::from([(
        "clustermesh.io/global".to_owned(),
        "true".to_owned(),
    )]));
    Service {
        metadata,
        spec: Some(ServiceSpec {
            cluster_ip: Some(format!("10.96.{}.{}", s / 250, s % 250 + 1)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

fn endpoint_slice(service: &str, endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        metadata: meta(
            &format!("{service}-x"),
            &[("kubernetes.io/service-name", service.to_owned())],
        ),
        address_type: "IPv4".into(),
        endpoints,
        ports: Some(vec![EndpointPort {
            name: Some("http".into()),
            port: Some(8080),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn propagation_shape() -> Shape {
        Shape {
            cluster_index: 1,
            nodes: 25,
            pods: 10_000,
            services: 100,
            backends: 10,
        }
    }

    #[test]
    fn every_generation_of_every_pod_has_its_own_address_in_its_node_block() {
        let shape = propagation_shape();
        assert_eq!(shape.generations(), 10);
        let mut seen = BTreeSet::new();
        for pod in 0..shape.pods {
            let block = shape.base() + shape.node_of(pod) * NODE_BLOCK;
            for generation in 0..shape.generations() {
                let ip = u32::from(shape.pod_ip(pod, generation));
                assert!(
                    (block..block + NODE_BLOCK).contains(&ip),
                    "pod {pod} left its block"
                );
                assert!(
                    seen.insert(ip),
                    "pod {pod} generation {generation} reuses {ip}"
                );
            }
            let wrapped = shape.pod_ip(pod, shape.generations());
            assert_eq!(wrapped, shape.pod_ip(pod, 0));
        }
    }

    #[test]
    fn a_full_node_block_leaves_one_generation() {
        let sync = Shape {
            cluster_index: 1,
            nodes: 250,
            pods: 1_000_000,
            services: 1_000,
            backends: SLICE_MAX,
        };
        assert_eq!(sync.generations(), 1);
        let last = sync.pod_ip(sync.pods - 1, 0);
        assert!(u32::from(last) < sync.base() + sync.nodes * NODE_BLOCK);
    }
}
