use clustermesh_proto::pb;

use crate::{
    drill::{
        FaultKind,
        plan::{ClusterView, Verdict, assess, check_target},
    },
    fixtures::{backend, copy},
};

/// A shared copy with one ready backend.
fn ready_copy(cluster: &str) -> pb::ClusterBackends {
    let ip = format!("10.{}.0.10", cluster.len());
    copy(cluster, vec![backend(&ip, "", true)])
}

/// `demo/web` as `own` sees it, with a copy in each of `clusters`.
fn web(clusters: &[&str]) -> pb::GlobalServiceView {
    pb::GlobalServiceView {
        namespace: "demo".into(),
        name: "web".into(),
        vip: "10.96.2.10".into(),
        ports: vec![pb::ServicePort {
            name: "http".into(),
            port: 80,
            protocol: pb::Protocol::Tcp as i32,
        }],
        affinity: pb::Affinity::None as i32,
        clusters: clusters.iter().map(|c| ready_copy(c)).collect(),
    }
}

fn view(own: &str, peers: &[(&str, bool)], services: Vec<pb::GlobalServiceView>) -> ClusterView {
    ClusterView {
        cluster: own.into(),
        status: pb::GetStatusResponse {
            peers: peers
                .iter()
                .map(|(name, connected)| pb::PeerStatus {
                    name: (*name).into(),
                    connected: *connected,
                    reachable: *connected,
                    last_error: match connected {
                        true => String::new(),
                        false => "connection refused".into(),
                    },
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        services,
    }
}

fn assess_b(b: &ClusterView, fault: FaultKind) -> Verdict {
    assess(b, "a", fault, "demo", "web")
}

#[test]
fn the_service_must_be_global_in_the_target_itself() {
    let a = view("a", &[], vec![web(&["a", "b"])]);
    assert_eq!(check_target(&a, "demo", "web"), Ok(()));
    let known_from_b_only = view("a", &[], vec![web(&["b"])]);
    assert_eq!(
        check_target(&known_from_b_only, "demo", "web"),
        Err("demo/web is not a global service in cluster a".into())
    );
    assert!(check_target(&a, "demo", "nope").is_err());
}

#[test]
fn a_connected_cluster_that_uses_the_targets_backends_probes() {
    let b = view("b", &[("a", true)], vec![web(&["b", "a"])]);
    assert_eq!(assess_b(&b, FaultKind::Backends), Verdict::Probe);
    assert_eq!(assess_b(&b, FaultKind::Cluster), Verdict::Probe);
}

#[test]
fn clusters_that_cannot_take_part_are_skipped_with_the_reason() {
    let cases = [
        (view("b", &[], vec![web(&["b", "a"])]), "does not import a"),
        (
            view("b", &[("a", false)], vec![web(&["b", "a"])]),
            "its import of a is not connected: connection refused",
        ),
        (
            view("b", &[("a", true)], vec![]),
            "demo/web is not a global service there",
        ),
        (
            view("b", &[("a", true)], vec![web(&["a"])]),
            "demo/web: not defined in this cluster: no frontend here",
        ),
        (
            view("b", &[("a", true)], vec![web(&["b"])]),
            "sends no demo/web traffic to a now (a has no backends of it), so it would see no failover",
        ),
    ];
    for (b, reason) in cases {
        assert_eq!(
            assess_b(&b, FaultKind::Backends),
            Verdict::Skip(reason.into())
        );
    }
    let mut local = web(&["b", "a"]);
    local.affinity = pb::Affinity::Local as i32;
    let b = view("b", &[("a", true)], vec![local]);
    assert_eq!(
        assess_b(&b, FaultKind::Backends),
        Verdict::Skip(
            "sends no demo/web traffic to a now (affinity local prefers the healthy local backends), so it would see no failover"
                .into()
        )
    );
}

#[test]
fn a_cluster_left_without_backends_refuses_the_drill() {
    let mut web = web(&["b", "a", "c"]);
    web.clusters[0].backends[0].ready = false;
    web.clusters[0].backends[0].serving = false;
    web.clusters[2].shared = false;
    let b = view("b", &[("a", true)], vec![web.clone()]);
    let refusal = Verdict::Refuse(
        "b has no healthy backend of demo/web outside a: its clients would lose the service during the drill".into(),
    );
    assert_eq!(assess_b(&b, FaultKind::Backends), refusal);
    assert_eq!(assess_b(&b, FaultKind::Cluster), refusal);
    // With c shared, c's backend is the way out.
    web.clusters[2].shared = true;
    let b = view("b", &[("a", true)], vec![web]);
    assert_eq!(assess_b(&b, FaultKind::Cluster), Verdict::Probe);
}
