use clustermesh_proto::{Backend, BackendPort, GlobalService};
use k8s_openapi::api::discovery::v1::Endpoint;

use crate::export::fixtures::*;
use crate::export::global_service::export;
use crate::export::{ObjectKind, Warning};
use crate::source::ClusterObjects;

fn backends_of(slices: Vec<(&str, &str, Vec<Endpoint>)>) -> (Vec<Backend>, Vec<Warning>) {
    let mut objects = ClusterObjects::default();
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "true")], "10.96.0.10"),
    );
    for (name, address_type, endpoints) in slices {
        with_slice(&mut objects, slice(name, address_type, endpoints));
    }
    let mut warnings = Vec::new();
    let mut services: Vec<GlobalService> = export(&cluster(), &objects, &mut warnings);
    assert_eq!(services.len(), 1, "{warnings:?}");
    (services.remove(0).backends, warnings)
}

fn state(b: &Backend) -> (bool, bool, bool) {
    (b.ready, b.serving, b.terminating)
}

#[test]
fn backend_fields() {
    let (backends, warnings) = backends_of(vec![(
        "web-1",
        "IPv4",
        vec![endpoint("10.1.0.5", "n1", None)],
    )]);
    assert!(warnings.is_empty());
    let b = &backends[0];
    assert_eq!(b.ip.to_string(), "10.1.0.5");
    assert_eq!(b.node.as_ref().map(|n| n.as_str()), Some("n1"));
    assert_eq!(b.zone.as_deref(), Some("eu-1a"));
    assert_eq!(b.ports.len(), 1);
    assert_eq!(b.ports[0].name.as_ref().map(|n| n.as_str()), Some("http"));
    assert_eq!(b.ports[0].port.get(), 8080);
}

#[test]
fn conditions_follow_kubernetes_nil_semantics() {
    let cases = [
        // (ready, serving, terminating) as given → as exported
        ((None, None, None), (true, true, false)),
        ((Some(false), None, None), (false, false, false)),
        ((Some(false), Some(true), Some(true)), (false, true, true)),
        ((Some(true), Some(false), None), (true, false, false)),
    ];
    for ((r, s, t), expected) in cases {
        let endpoint = endpoint("10.1.0.5", "n1", Some(conditions(r, s, t)));
        let (backends, _) = backends_of(vec![("web-1", "IPv4", vec![endpoint])]);
        assert_eq!(state(&backends[0]), expected, "{r:?} {s:?} {t:?}");
    }
}

#[test]
fn only_this_services_ip_slices() {
    let mut objects = ClusterObjects::default();
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "true")], "10.96.0.10"),
    );
    with_slice(
        &mut objects,
        slice("web-v6", "IPv6", vec![endpoint("fd00:1::5", "n1", None)]),
    );
    with_slice(
        &mut objects,
        slice(
            "web-fqdn",
            "FQDN",
            vec![endpoint("db.example.com", "n1", None)],
        ),
    );
    let mut other = slice("api-1", "IPv4", vec![endpoint("10.1.0.9", "n1", None)]);
    other.metadata.labels = Some(map(&[("kubernetes.io/service-name", "api")]));
    with_slice(&mut objects, other);
    let mut elsewhere = slice("web-1", "IPv4", vec![endpoint("10.1.0.8", "n1", None)]);
    elsewhere.metadata.namespace = Some("dev".into());
    objects
        .endpoint_slices
        .insert(key("dev", "web-1"), elsewhere);

    let mut warnings = Vec::new();
    let services = export(&cluster(), &objects, &mut warnings);
    assert!(warnings.is_empty(), "{warnings:?}");
    let ips: Vec<String> = services[0]
        .backends
        .iter()
        .map(|b| b.ip.to_string())
        .collect();
    assert_eq!(ips, ["fd00:1::5"]);
}

#[test]
fn duplicate_ips_merge_to_the_readiest_copy_with_all_ports() {
    let not_ready = endpoint(
        "10.1.0.5",
        "n1",
        Some(conditions(Some(false), None, Some(true))),
    );
    let ready = endpoint("10.1.0.5", "n2", Some(conditions(Some(true), None, None)));
    let mut objects = ClusterObjects::default();
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "true")], "10.96.0.10"),
    );
    with_slice(
        &mut objects,
        slice("web-a", "IPv4", vec![not_ready.clone()]),
    );
    let mut metrics = slice("web-b", "IPv4", vec![ready]);
    metrics.ports = Some(vec![port("metrics", 9090)]);
    with_slice(&mut objects, metrics);
    let mut warnings = Vec::new();
    let backends = export(&cluster(), &objects, &mut warnings)
        .remove(0)
        .backends;

    assert_eq!(backends.len(), 1);
    let b = &backends[0];
    assert_eq!(state(b), (true, true, false));
    assert_eq!(
        b.node.as_ref().map(|n| n.as_str()),
        Some("n2"),
        "from the ready copy"
    );
    let ports: Vec<u16> = b.ports.iter().map(|p: &BackendPort| p.port.get()).collect();
    assert_eq!(ports, [8080, 9090], "union, in slice order");

    // Equally ready copies: the first slice by name wins, whatever the insertion order.
    let (backends, _) = backends_of(vec![
        ("web-b", "IPv4", vec![endpoint("10.1.0.5", "n2", None)]),
        ("web-a", "IPv4", vec![endpoint("10.1.0.5", "n1", None)]),
    ]);
    assert_eq!(backends[0].node.as_ref().map(|n| n.as_str()), Some("n1"));
}

#[test]
fn bad_addresses_and_ports_are_skipped_with_warnings() {
    let mut objects = ClusterObjects::default();
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "true")], "10.96.0.10"),
    );
    let mut bad = slice(
        "web-1",
        "IPv4",
        vec![
            endpoint("10.1.0.5", "n1", None),
            endpoint("10.1.0.999", "n1", None),
        ],
    );
    bad.ports = Some(vec![port("http", 8080), port("bad", 70000)]);
    with_slice(&mut objects, bad);
    let mut warnings = Vec::new();
    let backends = export(&cluster(), &objects, &mut warnings)
        .remove(0)
        .backends;
    assert_eq!(backends.len(), 1);
    assert_eq!(backends[0].ports.len(), 1);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.kind == ObjectKind::EndpointSlice && w.object == "prod/web-1")
    );
}
