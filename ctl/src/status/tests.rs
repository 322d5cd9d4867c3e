use clustermesh_proto::pb;

use super::*;
use crate::{
    error::{Cause, CtlError},
    output::Paint,
};

const NOW: i64 = 1_000_000;

fn all_kinds() -> Vec<i32> {
    (1..=5).collect()
}

fn peer(name: &str) -> pb::PeerStatus {
    pb::PeerStatus {
        name: name.into(),
        connected: true,
        reachable: true,
        synced_kinds: all_kinds(),
        last_heartbeat_unix_ms: NOW - 400,
        record_counts: [("nodes".to_owned(), 2), ("services".to_owned(), 1)].into(),
        last_error: String::new(),
        advertise_address: "127.0.0.1:7444".into(),
        rejected_events: 0,
    }
}

fn node(name: &str, tunnels: Option<(u32, u32)>) -> pb::NodeStatus {
    pb::NodeStatus {
        name: name.into(),
        registered: true,
        last_heartbeat_unix_ms: NOW - 1200,
        tunnels: tunnels.map(|(up, expected)| pb::TunnelReport { expected, up }),
        zone: "z1".into(),
        ..Default::default()
    }
}

fn status(peers: Vec<pb::PeerStatus>, nodes: Vec<pb::NodeStatus>) -> pb::GetStatusResponse {
    pb::GetStatusResponse {
        cluster: Some(pb::Cluster {
            name: "a".into(),
            id: 1,
            pod_cidrs: vec!["10.1.0.0/16".into()],
            advertise_address: "127.0.0.1:7443".into(),
        }),
        peers,
        nodes,
        warnings: Vec::new(),
        store: Some(pb::StoreStatus {
            backend: "memory".into(),
            revision: 42,
            ..Default::default()
        }),
    }
}

fn cluster(status: &pb::GetStatusResponse) -> ClusterReport {
    ClusterReport::from_status("a", "127.0.0.1:7443", status, NOW)
}

#[test]
fn a_connected_synced_peer_and_full_tunnels_are_healthy() {
    let report = cluster(&status(vec![peer("b")], vec![node("n1", Some((2, 2)))]));
    assert!(report.healthy, "{:?}", report.problems);
    let p = &report.peers[0];
    assert_eq!(p.last_heartbeat_age_ms, Some(400));
    assert!(p.synced && p.missing_kinds.is_empty());
    assert_eq!(
        p.synced_kinds,
        ["clusters", "nodes", "identities", "endpoints", "services"]
    );
    assert_eq!(
        report.nodes[0].tunnels,
        Some(TunnelsReport { up: 2, expected: 2 })
    );
}

#[test]
fn each_unmet_condition_is_a_problem() {
    let mut down = peer("b");
    down.connected = false;
    down.reachable = false;
    down.last_heartbeat_unix_ms = 0;
    down.last_error = "connection refused".into();
    let mut partial = peer("c");
    partial.synced_kinds = vec![1, 2];
    let mut with_warning = status(
        vec![down, partial],
        vec![node("n1", Some((1, 2))), node("n2", None)],
    );
    with_warning.warnings = vec!["export failing: boom".into()];
    let report = cluster(&with_warning);
    assert!(!report.healthy);
    assert_eq!(
        report.problems,
        [
            "peer b is not connected: connection refused",
            "peer b is not reachable (no heartbeat yet)",
            "peer c has not synced identities, endpoints, services",
            "node n1: 1 of 2 tunnel peers up",
            "warning: export failing: boom",
        ]
    );
    assert!(report.nodes[1].healthy, "not reported yet is not a failure");
}

#[test]
fn an_unregistered_node_is_not_judged_by_tunnels() {
    let mut lost = node("n1", Some((0, 2)));
    lost.registered = false;
    assert!(cluster(&status(vec![], vec![lost])).healthy);
}

#[test]
fn an_unreachable_apiserver_is_a_problem_naming_it() {
    let error = CtlError::Api {
        context: "b".into(),
        address: "127.0.0.1:9".into(),
        call: "connect",
        cause: Cause::ConnectionRefused,
    };
    let report = ClusterReport::failed("b", "127.0.0.1:9", &error);
    assert!(!report.healthy && !report.apiserver.reachable && !report.apiserver.ready);
    assert_eq!(
        report.problems,
        ["apiserver unreachable: context b, apiserver 127.0.0.1:9: connection refused (connect)"]
    );
    assert!(
        report
            .apiserver
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("ctl context list"))
    );

    let refused = CtlError::Api {
        context: "b".into(),
        address: "127.0.0.1:9".into(),
        call: "GetStatus",
        cause: Cause::PermissionDenied("agent".into()),
    };
    let report = ClusterReport::failed("b", "127.0.0.1:9", &refused);
    assert!(report.apiserver.reachable && !report.apiserver.ready);
}

#[test]
fn the_verdict_counts_problems_and_clusters() {
    let healthy = cluster(&status(vec![peer("b")], vec![node("n1", Some((1, 1)))]));
    let report = StatusReport::new(vec![healthy.clone(), healthy.clone()]);
    assert!(report.healthy);
    assert_eq!(
        report.verdict,
        "healthy: 2 clusters ready, 2 peer links connected, reachable and synced, 2 nodes"
    );
    let mut sick = healthy.clone();
    sick.problems = vec!["x".into(), "y".into()];
    sick.healthy = false;
    let report = StatusReport::new(vec![healthy, sick]);
    assert!(!report.healthy);
    assert_eq!(report.verdict, "NOT healthy: 2 problems in 1 of 2 clusters");
    assert!(!StatusReport::new(Vec::new()).healthy);
}

#[test]
fn json_field_names_are_stable() {
    let report = StatusReport::new(vec![cluster(&status(
        vec![peer("b")],
        vec![node("n1", Some((1, 1)))],
    ))]);
    let value = serde_json::to_value(&report).expect("json");
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(keys(&value), ["clusters", "healthy", "verdict"]);
    let c = &value["clusters"][0];
    assert_eq!(
        keys(c),
        [
            "apiserver",
            "cluster",
            "context",
            "healthy",
            "nodes",
            "peers",
            "problems",
            "server",
            "store",
            "warnings"
        ]
    );
    assert_eq!(
        keys(&c["apiserver"]),
        ["error", "hint", "reachable", "ready"]
    );
    assert_eq!(
        keys(&c["peers"][0]),
        [
            "advertise_address",
            "connected",
            "healthy",
            "last_error",
            "last_heartbeat_age_ms",
            "missing_kinds",
            "name",
            "reachable",
            "record_counts",
            "rejected_events",
            "synced",
            "synced_kinds"
        ]
    );
    assert_eq!(
        keys(&c["nodes"][0]),
        [
            "healthy",
            "last_heartbeat_age_ms",
            "name",
            "registered",
            "tunnels",
            "wireguard_endpoint",
            "zone"
        ]
    );
    assert_eq!(
        c["nodes"][0]["tunnels"],
        serde_json::json!({"up": 1, "expected": 1})
    );
    assert_eq!(
        keys(&c["store"]),
        ["backend", "leader", "members", "revision"]
    );
}

#[test]
fn renders_tables_and_the_verdict() {
    let report = StatusReport::new(vec![cluster(&status(
        vec![peer("b")],
        vec![node("n1", Some((1, 1)))],
    ))]);
    let lines = render(&report, Paint::new(false));
    assert_eq!(
        lines,
        [
            "cluster a (context a, apiserver 127.0.0.1:7443): ready, id 1, pod CIDRs 10.1.0.0/16, store memory at revision 42",
            "  PEER  ADDRESS         CONNECTED  REACHABLE  SYNCED  HEARTBEAT  RECORDS             ERROR",
            "  b     127.0.0.1:7444  yes        yes        5/5     400ms ago  nodes=2 services=1",
            "  NODE  REGISTERED  HEARTBEAT  TUNNELS  ZONE  ENDPOINT",
            "  n1    yes         1.2s ago   1/1 up   z1    -",
            "",
            "healthy: 1 cluster ready, 1 peer link connected, reachable and synced, 1 node",
        ]
    );
}

#[test]
fn the_waiting_line_names_the_first_problem() {
    let mut partial = peer("b");
    partial.synced_kinds = vec![1];
    let report = StatusReport::new(vec![cluster(&status(vec![partial], vec![]))]);
    assert_eq!(
        waiting_line(&report, std::time::Duration::from_millis(4100)),
        "waiting 4.1s: 1 problem(s); a: peer b has not synced nodes, identities, endpoints, services"
    );
}
