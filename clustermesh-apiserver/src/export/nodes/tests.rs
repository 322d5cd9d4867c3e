use clustermesh_proto::Node;

use super::export;
use crate::export::fixtures::*;
use crate::export::{ObjectKind, Warning};
use crate::source::ClusterObjects;

fn run(nodes: Vec<(&str, k8s_openapi::api::core::v1::Node)>) -> (Vec<Node>, Vec<Warning>) {
    let mut objects = ClusterObjects::default();
    for (name, node) in nodes {
        objects.nodes.insert(name.into(), node);
    }
    let mut warnings = Vec::new();
    (export(&cluster(), &objects, &mut warnings), warnings)
}

fn strings<T: ToString>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

#[test]
fn node_fields() {
    let addresses = [
        ("Hostname", "n1"),
        ("ExternalIP", "203.0.113.7"),
        ("InternalIP", "192.168.1.7"),
        ("InternalIP", "fd00::7"),
    ];
    let node = node(
        &[("topology.kubernetes.io/zone", "eu-1a")],
        &addresses,
        &["10.1.0.0/24", "fd01::/64"],
    );
    let (nodes, warnings) = run(vec![("n1", node)]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let n = &nodes[0];
    assert_eq!((n.cluster.clone(), n.name.as_str()), (cluster(), "n1"));
    assert_eq!(
        strings(&n.underlay_addresses),
        ["192.168.1.7", "fd00::7", "203.0.113.7"],
        "InternalIP first, then ExternalIP"
    );
    assert_eq!(strings(&n.pod_cidrs), ["10.1.0.0/24", "fd01::/64"]);
    assert_eq!(n.zone.as_deref(), Some("eu-1a"));
    assert_eq!(n.wireguard, None);
}

#[test]
fn falls_back_to_the_single_pod_cidr() {
    let mut n = node(&[], &[("InternalIP", "192.168.1.7")], &[]);
    if let Some(spec) = n.spec.as_mut() {
        spec.pod_cidr = Some("10.1.0.0/24".into());
    }
    let (nodes, _) = run(vec![("n1", n)]);
    assert_eq!(strings(&nodes[0].pod_cidrs), ["10.1.0.0/24"]);
    assert_eq!(nodes[0].zone, None);
}

#[test]
fn bad_cidrs_are_dropped_and_the_node_kept() {
    let n1 = node(
        &[],
        &[],
        &["10.1.0.0/24", "10.1.1.5/24", "banana", "10.1.0.0/25"],
    );
    let n2 = node(&[], &[], &["10.1.0.128/25", "10.2.0.0/24"]);
    let (nodes, warnings) = run(vec![("n1", n1), ("n2", n2)]);
    assert_eq!(strings(&nodes[0].pod_cidrs), ["10.1.0.0/24"]);
    assert_eq!(strings(&nodes[1].pod_cidrs), ["10.2.0.0/24"], "overlaps n1");
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.kind == ObjectKind::Node));
    assert!(
        warnings[0].message.contains("10.1.1.5/24"),
        "host bits: {}",
        warnings[0]
    );
    assert!(
        warnings[3].message.contains("overlaps 10.1.0.0/24"),
        "{}",
        warnings[3]
    );
}

#[test]
fn bad_addresses_and_zones_are_dropped_bad_names_skip_the_node() {
    let n1 = node(
        &[("topology.kubernetes.io/zone", "-bad-")],
        &[("InternalIP", "not-an-ip"), ("InternalIP", "192.168.1.7")],
        &[],
    );
    let bad_name = node(&[], &[], &[]);
    let (nodes, warnings) = run(vec![("n1", n1), ("N_2", bad_name)]);
    assert_eq!(nodes.len(), 1);
    assert_eq!(strings(&nodes[0].underlay_addresses), ["192.168.1.7"]);
    assert_eq!(nodes[0].zone, None);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.object == "N_2" && w.message.contains("not exported"))
    );
}
