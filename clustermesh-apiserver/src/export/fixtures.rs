//! Hand-built Kubernetes objects for the export rule tests.

use std::collections::BTreeMap;

use clustermesh_proto::{ClusterName, IdentityId};
use k8s_openapi::api::core::v1::{
    Node, NodeAddress, NodeSpec, NodeStatus, Pod, PodIP, PodSpec, PodStatus, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::LabelSet;
use crate::source::{ClusterObjects, ObjectRef, ServiceExport};

pub fn cluster() -> ClusterName {
    ClusterName::new("aws").expect("valid name")
}

pub fn key(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        namespace: namespace.into(),
        name: name.into(),
    }
}

pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn meta(namespace: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..Default::default()
    }
}

/// A ClusterIP service with one named TCP port 80.
pub fn service(annotations: &[(&str, &str)], cluster_ip: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            annotations: Some(map(annotations)),
            ..meta("prod", "web")
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some(cluster_ip.into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn with_service(objects: &mut ClusterObjects, svc: Service) {
    objects.services.insert(key("prod", "web"), svc);
}

pub fn service_export(objects: &mut ClusterObjects) {
    let export = ServiceExport {
        namespace: "prod".into(),
        name: "web".into(),
    };
    objects.service_exports.insert(key("prod", "web"), export);
}

pub fn conditions(
    ready: Option<bool>,
    serving: Option<bool>,
    terminating: Option<bool>,
) -> EndpointConditions {
    EndpointConditions {
        ready,
        serving,
        terminating,
    }
}

pub fn endpoint(ip: &str, node: &str, conditions: Option<EndpointConditions>) -> Endpoint {
    Endpoint {
        addresses: vec![ip.into()],
        node_name: Some(node.into()),
        zone: Some("eu-1a".into()),
        conditions,
        ..Default::default()
    }
}

/// A slice of `prod/web` with port `http` 8080/TCP.
pub fn slice(name: &str, address_type: &str, endpoints: Vec<Endpoint>) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            labels: Some(map(&[("kubernetes.io/service-name", "web")])),
            ..meta("prod", name)
        },
        address_type: address_type.into(),
        endpoints,
        ports: Some(vec![port("http", 8080)]),
    }
}

pub fn port(name: &str, number: i32) -> EndpointPort {
    EndpointPort {
        name: Some(name.into()),
        port: Some(number),
        ..Default::default()
    }
}

pub fn with_slice(objects: &mut ClusterObjects, slice: EndpointSlice) {
    let name = slice.metadata.name.clone().unwrap_or_default();
    objects.endpoint_slices.insert(key("prod", &name), slice);
}

pub fn node(labels: &[(&str, &str)], addresses: &[(&str, &str)], cidrs: &[&str]) -> Node {
    Node {
        metadata: ObjectMeta {
            labels: Some(map(labels)),
            ..Default::default()
        },
        spec: Some(NodeSpec {
            pod_cidrs: Some(cidrs.iter().map(|c| c.to_string()).collect()),
            ..Default::default()
        }),
        status: Some(NodeStatus {
            addresses: Some(
                addresses
                    .iter()
                    .map(|(type_, address)| NodeAddress {
                        type_: type_.to_string(),
                        address: address.to_string(),
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
    }
}

/// A running pod on `n1` with the given labels and IPs.
pub fn pod(labels: &[(&str, &str)], ips: &[&str]) -> Pod {
    Pod {
        metadata: ObjectMeta {
            labels: Some(map(labels)),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some("n1".into()),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            pod_ips: Some(ips.iter().map(|ip| PodIP { ip: ip.to_string() }).collect()),
            ..Default::default()
        }),
    }
}

/// A resolver that numbers label sets in the order given, from local id 1.
pub fn resolver(sets: Vec<LabelSet>) -> impl Fn(&LabelSet) -> Option<IdentityId> {
    move |set| {
        let index = sets.iter().position(|s| s == set)?;
        IdentityId::try_from(1 << 16 | (index as u32 + 1)).ok()
    }
}
