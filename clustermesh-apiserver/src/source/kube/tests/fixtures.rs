//! Objects as a test API server holds them, and as the source must deliver them.

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::{Value, json};

use super::fake_api::Cluster;
use crate::source::{ClusterObjects, ObjectRef, ServiceExport};

pub(super) fn service(annotation: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": "echo", "namespace": "echo", "uid": "svc-uid",
            "labels": { "app": "echo" },
            "annotations": { "service.cilium.io/global": annotation },
        },
        "spec": {
            "clusterIP": "10.96.0.10", "type": "ClusterIP",
            "ports": [{ "name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080 }],
        },
    })
}

pub(super) fn endpoint_slice() -> Value {
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "name": "echo-abc", "namespace": "echo",
            "labels": { "kubernetes.io/service-name": "echo" },
        },
        "addressType": "IPv4",
        "endpoints": [{ "addresses": ["10.1.0.5"], "conditions": { "ready": true }, "nodeName": "node-a" }],
        "ports": [{ "name": "http", "port": 8080, "protocol": "TCP" }],
    })
}

pub(super) fn pod(name: &str, ip: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": name, "namespace": "echo", "labels": { "app": "echo" } },
        "spec": { "nodeName": "node-a", "containers": [{ "name": "echo", "image": "echo:1" }] },
        "status": { "phase": "Running", "podIP": ip, "podIPs": [{ "ip": ip }] },
    })
}

pub(super) fn node() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": { "name": "node-a", "labels": { "topology.kubernetes.io/zone": "a" } },
        "spec": { "podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24"] },
        "status": {
            "addresses": [{ "type": "InternalIP", "address": "192.168.0.10" }],
            "conditions": [{ "type": "Ready", "status": "True" }],
        },
    })
}

pub(super) fn namespace() -> Value {
    json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "echo" } })
}

pub(super) fn service_export() -> Value {
    json!({
        "apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
        "metadata": { "name": "echo", "namespace": "echo" },
        "status": { "conditions": [{ "type": "Valid", "status": "True" }] },
    })
}

pub(super) fn full_cluster() -> Cluster {
    Cluster {
        objects: vec![
            ("services", service("true")),
            ("endpointslices", endpoint_slice()),
            ("pods", pod("echo-1", "10.1.0.5")),
            ("nodes", node()),
            ("namespaces", namespace()),
            ("serviceexports", service_export()),
        ],
        missing: Vec::new(),
    }
}

pub(super) fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("fixture deserializes")
}

pub(super) fn echo(name: &str) -> ObjectRef {
    ObjectRef {
        namespace: "echo".to_owned(),
        name: name.to_owned(),
    }
}

/// The fixtures as the source must deliver them: as sent, minus what it strips.
pub(super) fn expected_full() -> ClusterObjects {
    let mut objects = ClusterObjects::default();
    objects
        .services
        .insert(echo("echo"), typed::<Service>(service("true")));
    objects
        .endpoint_slices
        .insert(echo("echo-abc"), typed::<EndpointSlice>(endpoint_slice()));
    objects.pods.insert(
        echo("echo-1"),
        typed::<Pod>(pod("echo-1", "10.1.0.5")).into(),
    );
    objects
        .nodes
        .insert("node-a".to_owned(), typed::<Node>(node()));
    objects
        .namespaces
        .insert("echo".to_owned(), typed::<Namespace>(namespace()));
    let export = ServiceExport {
        namespace: "echo".to_owned(),
        name: "echo".to_owned(),
    };
    objects.service_exports.insert(echo("echo"), export);
    objects
}
