use clustermesh_proto::{Endpoint, Identity};

use super::export;
use crate::export::fixtures::*;
use crate::export::identities::in_use;
use crate::export::{LabelSet, ObjectKind, Warning};
use crate::source::ClusterObjects;

fn run(objects: &ClusterObjects) -> (Vec<Identity>, Vec<Endpoint>, Vec<Warning>) {
    let resolve = resolver(in_use(objects).into_iter().collect());
    let mut warnings = Vec::new();
    let (identities, endpoints) = export(&cluster(), objects, &resolve, &mut warnings);
    (identities, endpoints, warnings)
}

fn ips(endpoints: &[Endpoint]) -> Vec<String> {
    endpoints.iter().map(|e| e.ip.to_string()).collect()
}

#[test]
fn running_pods_export_one_endpoint_per_ip() {
    let mut objects = ClusterObjects::default();
    let labels = [("app", "web"), ("pod-template-hash", "abc")];
    objects.pods.insert(
        key("prod", "web-1"),
        pod(&labels, &["10.1.0.5", "fd01::5"]).into(),
    );
    let (identities, endpoints, warnings) = run(&objects);
    assert!(warnings.is_empty(), "{warnings:?}");

    assert_eq!(identities.len(), 1);
    let identity = &identities[0];
    assert_eq!(identity.id.get(), 1 << 16 | 1);
    assert_eq!(identity.namespace.as_str(), "prod");
    assert_eq!(
        identity.labels,
        map(&[("app", "web")]),
        "instance label dropped"
    );

    assert_eq!(ips(&endpoints), ["10.1.0.5", "fd01::5"]);
    for e in &endpoints {
        assert_eq!(e.identity, identity.id);
        assert_eq!(e.cluster, cluster());
        assert_eq!(
            (e.node.as_str(), e.namespace.as_str(), e.pod.as_str()),
            ("n1", "prod", "web-1")
        );
    }
}

#[test]
fn pods_that_do_not_own_an_ip_are_skipped() {
    let mut objects = ClusterObjects::default();
    let mut host = pod(&[("app", "agent")], &["192.168.1.7"]);
    if let Some(spec) = host.spec.as_mut() {
        spec.host_network = Some(true);
    }
    objects
        .pods
        .insert(key("kube-system", "agent"), host.into());
    let mut pending = pod(&[("app", "web")], &["10.1.0.6"]);
    if let Some(status) = pending.status.as_mut() {
        status.phase = Some("Pending".into());
    }
    objects.pods.insert(key("prod", "pending"), pending.into());
    objects
        .pods
        .insert(key("prod", "no-ip"), pod(&[("app", "web")], &[]).into());
    let (identities, endpoints, warnings) = run(&objects);
    assert!(identities.is_empty() && endpoints.is_empty() && warnings.is_empty());
}

#[test]
fn falls_back_to_the_single_pod_ip() {
    let mut objects = ClusterObjects::default();
    let mut p = pod(&[("app", "web")], &[]);
    if let Some(status) = p.status.as_mut() {
        status.pod_ip = Some("10.1.0.7".into());
    }
    objects.pods.insert(key("prod", "web-1"), p.into());
    let (_, endpoints, _) = run(&objects);
    assert_eq!(ips(&endpoints), ["10.1.0.7"]);
}

#[test]
fn replicas_share_an_identity() {
    let mut objects = ClusterObjects::default();
    for (name, hash, ip) in [("web-1", "a", "10.1.0.5"), ("web-2", "b", "10.1.0.6")] {
        let labels = [("app", "web"), ("pod-template-hash", hash)];
        objects
            .pods
            .insert(key("prod", name), pod(&labels, &[ip]).into());
    }
    objects.pods.insert(
        key("prod", "db-0"),
        pod(&[("app", "db")], &["10.1.0.9"]).into(),
    );
    let (identities, endpoints, _) = run(&objects);
    assert_eq!(identities.len(), 2);
    assert_eq!(endpoints[0].identity, endpoints[1].identity);
    assert_ne!(endpoints[0].identity, endpoints[2].identity);
}

#[test]
fn unresolved_identity_and_duplicate_ip_warn() {
    let mut objects = ClusterObjects::default();
    objects.pods.insert(
        key("prod", "a"),
        pod(&[("app", "web")], &["10.1.0.5"]).into(),
    );
    objects.pods.insert(
        key("prod", "b"),
        pod(&[("app", "web")], &["10.1.0.5"]).into(),
    );
    let (_, endpoints, warnings) = run(&objects);
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].pod.as_str(), "a", "first in name order wins");
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        (warnings[0].kind, warnings[0].object.as_str()),
        (ObjectKind::Pod, "prod/b")
    );

    let mut warnings = Vec::new();
    let none = |_: &LabelSet| None;
    let (identities, endpoints) = export(&cluster(), &objects, &none, &mut warnings);
    assert!(identities.is_empty() && endpoints.is_empty());
    assert_eq!(warnings.len(), 2);
    assert!(
        warnings[0].message.contains("no identity"),
        "{}",
        warnings[0]
    );
}

#[test]
fn bad_labels_or_missing_node_skip_the_pod() {
    let mut objects = ClusterObjects::default();
    objects.pods.insert(
        key("prod", "a"),
        pod(&[("app", "-bad")], &["10.1.0.5"]).into(),
    );
    let mut nodeless = pod(&[("app", "web")], &["10.1.0.6"]);
    if let Some(spec) = nodeless.spec.as_mut() {
        spec.node_name = None;
    }
    objects.pods.insert(key("prod", "b"), nodeless.into());
    let (_, endpoints, warnings) = run(&objects);
    assert!(endpoints.is_empty());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}
