use std::net::IpAddr;

use clustermesh_proto::{Affinity, GlobalService, Protocol};

use super::export;
use crate::export::fixtures::*;
use crate::export::{ObjectKind, Warning};
use crate::source::ClusterObjects;

fn run(objects: &ClusterObjects) -> (Vec<GlobalService>, Vec<Warning>) {
    let mut warnings = Vec::new();
    let services = export(&cluster(), objects, &mut warnings);
    (services, warnings)
}

fn one(annotations: &[(&str, &str)]) -> (GlobalService, Vec<Warning>) {
    let mut objects = ClusterObjects::default();
    with_service(&mut objects, service(annotations, "10.96.0.10"));
    with_slice(
        &mut objects,
        slice("web-1", "IPv4", vec![endpoint("10.1.0.5", "n1", None)]),
    );
    let (mut services, warnings) = run(&objects);
    assert_eq!(services.len(), 1, "{warnings:?}");
    (services.remove(0), warnings)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test IP")
}

#[test]
fn plain_service_is_not_exported() {
    let mut objects = ClusterObjects::default();
    with_service(&mut objects, service(&[], "10.96.0.10"));
    let off = service(&[("clustermesh.io/global", "false")], "10.96.0.10");
    objects.services.insert(key("prod", "off"), off);
    assert_eq!(run(&objects), (vec![], vec![]));
}

#[test]
fn every_spelling_marks_global_with_defaults() {
    for key in [
        "clustermesh.io/global",
        "service.cilium.io/global",
        "io.cilium/global-service",
    ] {
        let (svc, warnings) = one(&[(key, "true")]);
        assert!(warnings.is_empty(), "{key}: {warnings:?}");
        assert_eq!(svc.cluster, cluster());
        assert_eq!((svc.namespace.as_str(), svc.name.as_str()), ("prod", "web"));
        assert_eq!(svc.vip, Some(ip("10.96.0.10")));
        assert_eq!(svc.affinity, Affinity::None);
        assert!(svc.shared);
        assert_eq!(svc.ports.len(), 1);
        assert_eq!(svc.ports[0].port.get(), 80);
        assert_eq!(svc.ports[0].protocol, Protocol::Tcp, "defaults to TCP");
        assert_eq!(svc.backends.len(), 1);
    }
}

#[test]
fn service_export_marks_global() {
    let mut objects = ClusterObjects::default();
    with_service(&mut objects, service(&[], "10.96.0.10"));
    service_export(&mut objects);
    let (services, warnings) = run(&objects);
    assert!(warnings.is_empty());
    assert_eq!(services.len(), 1);

    // An explicit opt-in of its own: it wins over an annotation saying "false".
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "false")], "10.96.0.10"),
    );
    assert_eq!(run(&objects).0.len(), 1);
}

#[test]
fn not_shared_exports_no_backends() {
    for key in ["clustermesh.io/shared", "service.cilium.io/shared"] {
        let (svc, warnings) = one(&[("clustermesh.io/global", "true"), (key, "false")]);
        assert!(warnings.is_empty());
        assert!(!svc.shared);
        assert!(svc.backends.is_empty(), "{key}");
    }
}

#[test]
fn unreadable_shared_is_not_shared_with_a_warning() {
    let (svc, warnings) = one(&[
        ("clustermesh.io/global", "true"),
        ("clustermesh.io/shared", "yes"),
    ]);
    assert!(!svc.shared && svc.backends.is_empty());
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].message.contains("clustermesh.io/shared"),
        "{}",
        warnings[0]
    );
}

#[test]
fn affinity_values() {
    for (value, expected) in [
        ("local", Affinity::Local),
        ("remote", Affinity::Remote),
        ("none", Affinity::None),
    ] {
        for key in ["clustermesh.io/affinity", "service.cilium.io/affinity"] {
            let (svc, warnings) = one(&[("clustermesh.io/global", "true"), (key, value)]);
            assert_eq!(svc.affinity, expected, "{key}={value}");
            assert!(warnings.is_empty());
        }
    }
}

#[test]
fn unknown_affinity_warns_and_falls_back_to_none() {
    let (svc, warnings) = one(&[
        ("clustermesh.io/global", "true"),
        ("clustermesh.io/affinity", "nearest"),
    ]);
    assert_eq!(svc.affinity, Affinity::None);
    assert_eq!(warnings.len(), 1);
    let w = &warnings[0];
    assert_eq!(
        (w.kind, w.object.as_str()),
        (ObjectKind::Service, "prod/web")
    );
    assert!(w.message.contains("clustermesh.io/affinity"), "{w}");
    assert!(w.message.contains("\"nearest\""), "{w}");
}

#[test]
fn our_prefix_wins_and_disagreement_warns() {
    let (svc, warnings) = one(&[
        ("clustermesh.io/global", "true"),
        ("clustermesh.io/affinity", "local"),
        ("service.cilium.io/affinity", "remote"),
    ]);
    assert_eq!(svc.affinity, Affinity::Local);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("service.cilium.io/affinity"));

    // Our "false" beats Cilium's "true", so the service is not global at all.
    let mut objects = ClusterObjects::default();
    let annotations = [
        ("clustermesh.io/global", "false"),
        ("service.cilium.io/global", "true"),
    ];
    with_service(&mut objects, service(&annotations, "10.96.0.10"));
    let (services, warnings) = run(&objects);
    assert!(services.is_empty());
    assert_eq!(warnings.len(), 1);

    // Agreeing aliases are fine.
    let (_, warnings) = one(&[
        ("clustermesh.io/global", "true"),
        ("service.cilium.io/global", "true"),
    ]);
    assert!(warnings.is_empty());
}

#[test]
fn headless_has_no_vip() {
    for cluster_ip in ["None", ""] {
        let mut objects = ClusterObjects::default();
        with_service(
            &mut objects,
            service(&[("clustermesh.io/global", "true")], cluster_ip),
        );
        let (services, _) = run(&objects);
        assert_eq!(services[0].vip, None, "{cluster_ip:?}");
    }
}

#[test]
fn invalid_service_is_skipped_with_a_warning() {
    let mut svc = service(&[("clustermesh.io/global", "true")], "10.96.0.10");
    if let Some(ports) = svc.spec.as_mut().and_then(|s| s.ports.as_mut()) {
        let mut second = ports[0].clone();
        second.port = 81;
        ports[0].name = None;
        second.name = None;
        second.protocol = Some("UDP".into());
        ports.push(second);
    }
    let mut objects = ClusterObjects::default();
    with_service(&mut objects, svc);
    let (services, warnings) = run(&objects);
    assert!(services.is_empty());
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].message.contains("ports[0]"), "{}", warnings[0]);

    let mut objects = ClusterObjects::default();
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "true")], "10.96.0.300"),
    );
    let (services, warnings) = run(&objects);
    assert!(services.is_empty());
    assert!(warnings[0].message.contains("vip"), "{}", warnings[0]);
}
