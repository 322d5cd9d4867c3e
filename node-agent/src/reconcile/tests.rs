//! The agent's reconcile step against a recording dataplane: what it programs from a
//! view, that a second pass changes nothing, that an unready view programs nothing, and
//! that failover and a lost peer come out as the executors' calls.

use std::sync::Arc;

use clustermesh_proto::pb;

use super::{fake::Recording, reconcile};
use crate::fixtures::{
    IntoRecord, apply_all, backend, cluster, name, node, peer_state, service, upsert, view_of,
};
use crate::plan::{LocalNode, PlanConfig};
use crate::view::MergedView;

fn me() -> LocalNode {
    LocalNode {
        cluster: name("a"),
        node: "a1".into(),
    }
}

/// Cluster a (ours) and b, each with one node and a backend of shop/web.
fn records(a_ready: bool) -> Vec<pb::Record> {
    let mut a_service = service("a", "10.96.0.10");
    let mut a_backend = backend("10.1.0.5", "a1");
    a_backend.ready = a_ready;
    a_service.backends = vec![a_backend];
    a_service.affinity = pb::Affinity::Local.into();
    let mut b_service = service("b", "10.97.0.10");
    b_service.backends = vec![backend("10.2.0.5", "b1")];
    vec![
        cluster("a", 1, &["10.1.0.0/16"]).into_record(),
        cluster("b", 2, &["10.2.0.0/16"]).into_record(),
        node("a", "a1", 1, &["10.1.0.0/24"]).into_record(),
        node("b", "b1", 2, &["10.2.0.0/24"]).into_record(),
        a_service.into_record(),
        b_service.into_record(),
    ]
}

async fn run(view: &MergedView, dataplane: &Arc<Recording>) -> Vec<String> {
    reconcile(view, &me(), &PlanConfig::default(), &dataplane.dataplane())
        .await
        .expect("reconcile");
    dataplane.take_calls()
}

#[tokio::test]
async fn programs_the_view_then_finds_nothing_to_do() {
    let dataplane = Arc::new(Recording::default());
    let view = view_of(records(true));
    assert_eq!(
        run(&view, &dataplane).await,
        [
            "set peer b/b1",
            "add route 10.2.0.0/16",
            "services [set 10.96.0.10:80 -> 1]",
        ]
    );
    assert!(
        run(&view, &dataplane).await.is_empty(),
        "second pass is a no-op"
    );
}

#[tokio::test]
async fn an_incomplete_view_programs_nothing() {
    let dataplane = Arc::new(Recording::default());
    let mut view = MergedView::new();
    // Records without the closing SnapshotEnd: the view is not initialized.
    apply_all(
        &mut view,
        std::iter::once(crate::fixtures::begin(1)).chain(
            records(true)
                .into_iter()
                .zip(1..)
                .map(|(r, rev)| upsert(r, rev)),
        ),
    );
    assert!(run(&view, &dataplane).await.is_empty());
}

#[tokio::test]
async fn local_backend_unready_fails_over_to_the_remote_one_and_back() {
    let dataplane = Arc::new(Recording::default());
    run(&view_of(records(true)), &dataplane).await;
    let failover = run(&view_of(records(false)), &dataplane).await;
    assert_eq!(
        failover,
        [
            "services [set 10.96.0.10:80 -> 1]",
            "forget flows 10.96.0.10:80 -> [10.1.0.5:8080]"
        ]
    );
    let observed = dataplane.dataplane().observe().await.expect("observe");
    let backends: Vec<String> = observed
        .services
        .values()
        .flat_map(|s| s.backends.iter().map(|b| b.ip.to_string()))
        .collect();
    assert_eq!(
        backends,
        ["10.2.0.5"],
        "served by b while a's backend is unready"
    );
    run(&view_of(records(true)), &dataplane).await;
    let observed = dataplane.dataplane().observe().await.expect("observe");
    let backends: Vec<String> = observed
        .services
        .values()
        .flat_map(|s| s.backends.iter().map(|b| b.ip.to_string()))
        .collect();
    assert_eq!(backends, ["10.1.0.5"], "back to the local backend");
}

#[tokio::test]
async fn an_unreachable_peer_loses_its_backends_but_keeps_its_tunnel_and_route() {
    let dataplane = Arc::new(Recording::default());
    let mut view = view_of(records(false));
    run(&view, &dataplane).await;
    apply_all(&mut view, [peer_state("b", false)]);
    assert_eq!(
        run(&view, &dataplane).await,
        [
            "services [set 10.96.0.10:80 -> 0]",
            "forget flows 10.96.0.10:80 -> [10.2.0.5:8080]"
        ],
        "no healthy backend left: the service rejects, the tunnel and route stay"
    );
}
