//! Selection cases as node-agent's `plan/tests/affinity.rs` and `services.rs` has them:
//! both apply `clustermesh_proto::selection`, and these check ctl's side of it (the
//! reasons, the leases ctl can and cannot see).

use clustermesh_proto::pb;

use super::*;
use crate::{
    fixtures::{backend, copy},
    output::Paint,
};

/// `demo/web` as cluster a sees it, with one backend in each of a, b and c.
fn web(affinity: pb::Affinity) -> pb::GlobalServiceView {
    pb::GlobalServiceView {
        namespace: "demo".into(),
        name: "web".into(),
        vip: "10.96.1.10".into(),
        ports: vec![pb::ServicePort {
            name: "http".into(),
            port: 80,
            protocol: pb::Protocol::Tcp as i32,
        }],
        affinity: affinity as i32,
        clusters: vec![
            copy("a", vec![backend("10.1.0.10", "a1", true)]),
            copy("b", vec![backend("10.2.0.10", "b1", true)]),
            copy("c", vec![backend("10.3.0.10", "", true)]),
        ],
    }
}

fn leases() -> LocalLeases {
    [("a1".to_owned(), true)].into()
}

fn report(view: pb::GlobalServiceView) -> ServiceReport {
    service_report("a", view, &leases()).expect("valid view")
}

/// The selected `ip (cluster)` of the only frontend.
fn selected(view: pb::GlobalServiceView) -> Vec<String> {
    let report = report(view);
    assert_eq!(report.frontends.len(), 1);
    report.frontends[0]
        .backends
        .iter()
        .map(|t| format!("{} ({})", t.ip, t.cluster))
        .collect()
}

fn reason(report: &ServiceReport, cluster: &str) -> Option<String> {
    let c = report
        .clusters
        .iter()
        .find(|c| c.cluster == cluster)
        .expect("cluster");
    c.backends[0].reason.clone()
}

const ALL: [&str; 3] = ["10.1.0.10 (a)", "10.2.0.10 (b)", "10.3.0.10 (c)"];

#[test]
fn none_selects_every_healthy_backend() {
    assert_eq!(selected(web(pb::Affinity::None)), ALL);
    let r = report(web(pb::Affinity::None));
    assert_eq!(r.frontends[0].backends[0].port, 8080);
    assert!(r.clusters.iter().all(|c| c.backends[0].selected));
}

#[test]
fn local_prefers_local_backends_while_one_is_healthy() {
    assert_eq!(selected(web(pb::Affinity::Local)), ["10.1.0.10 (a)"]);
    let r = report(web(pb::Affinity::Local));
    assert_eq!(
        reason(&r, "b").as_deref(),
        Some("affinity local prefers the healthy local backends")
    );
    let mut failed = web(pb::Affinity::Local);
    failed.clusters[0].backends[0].ready = false;
    assert_eq!(selected(failed), ["10.2.0.10 (b)", "10.3.0.10 (c)"]);
}

#[test]
fn remote_prefers_remote_and_falls_back_to_local() {
    assert_eq!(
        selected(web(pb::Affinity::Remote)),
        ["10.2.0.10 (b)", "10.3.0.10 (c)"]
    );
    let mut down = web(pb::Affinity::Remote);
    down.clusters[1].reachable = false;
    down.clusters[2].reachable = false;
    assert_eq!(selected(down.clone()), ["10.1.0.10 (a)"]);
    assert_eq!(
        reason(&report(down), "b").as_deref(),
        Some("its cluster is unreachable")
    );
}

#[test]
fn remote_backends_need_the_service_shared_there() {
    let mut view = web(pb::Affinity::None);
    view.clusters[1].shared = false;
    // Our own `shared` only says whether we export ours.
    view.clusters[0].shared = false;
    assert_eq!(selected(view.clone()), ["10.1.0.10 (a)", "10.3.0.10 (c)"]);
    assert_eq!(
        reason(&report(view), "b").as_deref(),
        Some("its cluster does not share the service")
    );
}

#[test]
fn local_backends_on_nodes_without_a_lease_are_out() {
    let mut view = web(pb::Affinity::None);
    view.clusters[0].backends[0].node = "a2".into();
    assert_eq!(selected(view.clone()), ["10.2.0.10 (b)", "10.3.0.10 (c)"]);
    let r = report(view);
    let a = &r.clusters[0].backends[0];
    assert_eq!(a.node_lease.as_deref(), Some("expired"));
    assert_eq!(
        a.reason.as_deref(),
        Some("its node has no live agent lease")
    );
    assert_eq!(
        r.clusters[1].backends[0].node_lease.as_deref(),
        Some("unknown")
    );
    assert_eq!(r.clusters[2].backends[0].node_lease, None);
}

#[test]
fn terminating_serving_backends_are_a_last_resort() {
    let mut view = web(pb::Affinity::None);
    view.clusters[1].backends[0].ready = false;
    view.clusters[1].backends[0].serving = true;
    view.clusters[1].backends[0].terminating = true;
    assert_eq!(selected(view.clone()), ["10.1.0.10 (a)", "10.3.0.10 (c)"]);
    for c in &mut view.clusters {
        c.backends[0].ready = false;
    }
    assert_eq!(
        selected(view),
        ["10.2.0.10 (b)"],
        "only the draining one serves"
    );
}

#[test]
fn local_prefers_a_ready_remote_backend_over_a_draining_local_one() {
    let mut view = web(pb::Affinity::Local);
    view.clusters[0].backends[0].ready = false;
    view.clusters[0].backends[0].terminating = true;
    assert_eq!(selected(view), ["10.2.0.10 (b)", "10.3.0.10 (c)"]);
}

#[test]
fn backends_need_a_port_matching_by_name_and_protocol() {
    let mut view = web(pb::Affinity::None);
    view.clusters[2].backends[0].ports[0].name = "metrics".into();
    view.clusters[1].backends[0].ports[0].protocol = pb::Protocol::Udp as i32;
    assert_eq!(selected(view.clone()), ["10.1.0.10 (a)"]);
    assert_eq!(
        reason(&report(view), "c").as_deref(),
        Some("no backend port matches the service port")
    );
}

#[test]
fn no_frontend_without_a_local_copy_or_a_vip() {
    let mut remote_only = web(pb::Affinity::None);
    remote_only.clusters.remove(0);
    remote_only.vip.clear();
    let r = report(remote_only);
    assert!(!r.defined_here && r.frontends.is_empty());
    assert!(r.clusters.iter().all(|c| !c.backends[0].selected));
    assert_eq!(
        reason(&r, "b").as_deref(),
        Some("no frontend in this cluster")
    );
    assert_eq!(
        r.note.as_deref(),
        Some("not defined in this cluster: no frontend here")
    );

    let mut headless = web(pb::Affinity::None);
    headless.vip.clear();
    let r = report(headless);
    assert!(r.defined_here && r.frontends.is_empty());
    assert!(r.note.as_deref().is_some_and(|n| n.starts_with("headless")));
}

#[test]
fn invalid_answers_are_refused_naming_the_field() {
    let mut view = web(pb::Affinity::None);
    view.clusters[1].backends[0].ip = "nope".into();
    let err = service_report("a", view, &leases()).expect_err("invalid");
    assert!(err.starts_with("service demo/web: backends:"), "{err}");
    let mut view = web(pb::Affinity::None);
    view.affinity = 9;
    assert!(service_report("a", view, &leases()).is_err());
}

#[test]
fn json_field_names_are_stable() {
    let value = serde_json::to_value(report(web(pb::Affinity::Local))).expect("json");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(
        keys(&value),
        [
            "affinity",
            "clusters",
            "defined_here",
            "frontends",
            "name",
            "namespace",
            "note",
            "ports",
            "vip"
        ]
    );
    assert_eq!(
        keys(&value["clusters"][0]),
        ["backends", "cluster", "local", "reachable", "shared"]
    );
    assert_eq!(
        keys(&value["clusters"][0]["backends"][0]),
        [
            "ip",
            "node",
            "node_lease",
            "ports",
            "ready",
            "reason",
            "selected",
            "serving",
            "terminating",
            "zone"
        ]
    );
    assert_eq!(
        value["frontends"][0],
        serde_json::json!({"vip": "10.96.1.10", "port": 80, "protocol": "TCP",
            "backends": [{"cluster": "a", "ip": "10.1.0.10", "port": 8080}]})
    );
    assert_eq!(
        value["ports"][0],
        serde_json::json!({"name": "http", "port": 80, "protocol": "TCP"})
    );
}

#[test]
fn renders_a_row_per_backend_and_a_line_per_frontend() {
    let report = ServicesReport {
        context: "a".into(),
        cluster: "a".into(),
        services: vec![report(web(pb::Affinity::Local))],
    };
    assert_eq!(
        render(&report, Paint::new(false)),
        [
            "demo/web  vip 10.96.1.10  ports http:80/TCP  affinity local",
            "  CLUSTER    REACHABLE  SHARED  BACKEND    NODE  LEASE    READY  SELECTED  WHY NOT",
            "  a (local)  yes        yes     10.1.0.10  a1    alive    yes    yes",
            "  b          yes        yes     10.2.0.10  b1    unknown  yes    no        affinity local prefers the healthy local backends",
            "  c          yes        yes     10.3.0.10  -     -        yes    no        affinity local prefers the healthy local backends",
            "  10.96.1.10:80/TCP -> 10.1.0.10:8080 (a)",
        ]
    );
}
