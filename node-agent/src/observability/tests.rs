//! The status summary, the metrics exposition built from it, and readiness.

use std::{collections::BTreeMap, time::Duration};

use clustermesh_proto::pb;

use super::{AgentMetrics, Condition, DataplaneStatus, Health};
use crate::fixtures::{IntoRecord, backend, cluster, key, name, node, service, view_of};
use crate::plan::{DesiredState, LocalNode, PlanConfig, desired};

/// Seen from a1: b has two registered nodes; shop/web has one ready backend in a and
/// one in b, and shop/empty none anywhere.
fn desired_state() -> DesiredState {
    let mut web_a = service("a", "10.96.0.10");
    web_a.backends = vec![backend("10.1.0.5", "a1")];
    let mut web_b = service("b", "10.97.0.10");
    web_b.backends = vec![backend("10.2.0.5", "b1")];
    let mut empty = service("a", "10.96.0.11");
    empty.name = "empty".into();
    let view = view_of(vec![
        cluster("a", 1, &["10.1.0.0/16"]).into_record(),
        cluster("b", 2, &["10.2.0.0/16"]).into_record(),
        node("a", "a1", 1, &["10.1.0.0/24"]).into_record(),
        node("b", "b1", 2, &["10.2.0.0/24"]).into_record(),
        node("b", "b2", 3, &["10.2.1.0/24"]).into_record(),
        web_a.into_record(),
        web_b.into_record(),
        empty.into_record(),
    ]);
    let me = LocalNode {
        cluster: name("a"),
        node: "a1".into(),
    };
    desired::compute(&view, &me, &PlanConfig::default())
}

#[test]
fn status_counts_peers_routes_services_and_backends_per_cluster() {
    let desired = desired_state();
    let handshakes = BTreeMap::from([
        (key(2), Some(Duration::from_secs(5))),
        (key(3), Some(Duration::from_secs(600))),
    ]);
    let status = DataplaneStatus::new(&desired, &handshakes);
    assert_eq!(status.peers.len(), 2, "{status:?}");
    assert_eq!(status.routes, desired.routes.len());
    assert_eq!(status.services, 2, "{status:?}");
    assert_eq!(status.services_without_backends, 1, "{status:?}");
    assert_eq!(
        status.backends_per_cluster,
        BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 1)])
    );
    // b2's handshake is older than WireGuard keeps a session: not up.
    assert_eq!(
        status.tunnel_report(),
        pb::TunnelReport { expected: 2, up: 1 }
    );
}

#[test]
fn a_peer_the_device_does_not_hold_yet_has_no_handshake() {
    let status = DataplaneStatus::new(&desired_state(), &BTreeMap::new());
    assert!(status.peers.iter().all(|p| p.handshake_age.is_none()));
    assert_eq!(
        status.tunnel_report(),
        pb::TunnelReport { expected: 2, up: 0 }
    );
}

#[test]
fn metrics_expose_the_latest_status_and_forget_what_went_away() {
    let metrics = AgentMetrics::new();
    let desired = desired_state();
    metrics.set_dataplane(DataplaneStatus::new(
        &desired,
        &BTreeMap::from([(key(2), Some(Duration::from_millis(1500)))]),
    ));
    metrics.observe_plan(Duration::from_micros(300));
    metrics.observe_apply(Duration::from_millis(4), Ok(7));
    metrics.observe_apply(Duration::from_millis(4), Err(()));
    let text = metrics.encode().expect("encodes");
    for line in [
        "clustermesh_agent_tunnel_peers{cluster=\"b\"} 2",
        "clustermesh_agent_tunnel_handshake_age_seconds{cluster=\"b\",node=\"b1\"} 1.5",
        "clustermesh_agent_tunnel_peers_up 1",
        "clustermesh_agent_routes 1",
        "clustermesh_agent_services 2",
        "clustermesh_agent_services_without_backends 1",
        "clustermesh_agent_backends{cluster=\"a\"} 1",
        "clustermesh_agent_backends{cluster=\"b\"} 1",
        "clustermesh_agent_apply_errors_total 1",
        "clustermesh_agent_changes_applied_total 7",
        "clustermesh_agent_plan_duration_seconds_count 1",
        "clustermesh_agent_apply_duration_seconds_count 2",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // b2 never shook hands: no age series rather than a made-up one.
    assert!(!text.contains("node=\"b2\""), "{text}");

    metrics.set_dataplane(DataplaneStatus::default());
    let text = metrics.encode().expect("encodes");
    assert!(!text.contains("cluster=\"b\""), "stale series: {text}");
    assert!(text.contains("clustermesh_agent_routes 0"), "{text}");
}

#[test]
fn ready_only_when_every_condition_holds_and_the_report_names_the_missing() {
    let health = Health::default();
    assert!(!health.is_ready());
    health.set(Condition::Registered, true);
    health.set(Condition::ViewSynced, true);
    assert!(!health.is_ready());
    let report = health.report();
    assert!(
        report.starts_with("[-] dataplane applied\n"),
        "unmet first: {report}"
    );
    health.set(Condition::DataplaneApplied, true);
    assert!(health.is_ready(), "{health}");
    health.set(Condition::Registered, false);
    assert!(!health.is_ready());
}
