//! The snapshot protocol: prune at the end, never flush first.

use clustermesh_proto::{RecordKind, pb};

use super::{node_names, two_clusters};
use crate::{
    fixtures::*,
    plan::{LocalNode, PlanConfig, desired::compute, diff::plan},
};

#[test]
fn snapshot_end_prunes_unseen_records_markers_and_peer_states() {
    let mut view = view_of(two_clusters());
    apply_all(
        &mut view,
        [
            synced("a", pb::RecordKind::Node, 10),
            synced("b", pb::RecordKind::Node, 11),
            synced("b", pb::RecordKind::GlobalService, 12),
            peer_state("b", false),
            peer_state("c", true),
        ],
    );
    assert_eq!(view.synced_kinds(&name("b")).len(), 2);

    let mut records = two_clusters();
    records.retain(|r| !matches!(&r.record, Some(pb::record::Record::Node(n)) if n.name == "b2"));
    let mut events = vec![begin(200)];
    events.extend(records.into_iter().map(|r| upsert(r, 1)));
    events.extend([
        synced("b", pb::RecordKind::Node, 11),
        peer_state("b", false),
    ]);
    events.push(end(200, EPOCH));
    apply_all(&mut view, events);

    assert_eq!(node_names(&view, "b"), ["b1"]);
    assert_eq!(node_names(&view, "a"), ["a1"]);
    assert!(view.synced_kinds(&name("a")).is_empty());
    assert_eq!(view.synced_kinds(&name("b")), [RecordKind::Node].into());
    assert!(view.synced_marker(&name("b"), RecordKind::Node).is_some());
    assert!(view.peer_state(&name("c")).is_none());
    assert!(!view.is_reachable(&name("b")));
}

#[test]
fn a_reconnect_holds_everything_until_the_snapshot_ends() {
    let mut view = view_of(two_clusters());
    view.apply(begin(200)).expect("begin");
    // Nothing is flushed at SnapshotBegin: the dataplane keeps its state meanwhile.
    assert_eq!(node_names(&view, "b"), ["b1", "b2"]);
    view.apply(upsert(node("b", "b1", 11, &["10.2.1.0/24"]), 1))
        .expect("upsert");
    assert_eq!(node_names(&view, "b"), ["b1", "b2"]);
    view.apply(end(200, EPOCH)).expect("end");
    assert_eq!(node_names(&view, "b"), ["b1"]);
}

#[test]
fn a_reconnect_with_the_same_state_changes_nothing() {
    let mut view = view_of(two_clusters());
    apply_all(
        &mut view,
        [peer_state("b", true), synced("b", pb::RecordKind::Node, 3)],
    );
    let generation = view.generation();
    let mut events = vec![begin(300)];
    events.extend(two_clusters().into_iter().map(|r| upsert(r, 1)));
    events.extend([peer_state("b", true), synced("b", pb::RecordKind::Node, 3)]);
    events.push(end(300, EPOCH));
    apply_all(&mut view, events);
    assert_eq!(view.generation(), generation, "no record flapped");
    assert_eq!(view.resume_point().map(|r| r.revision), Some(300));
}

#[test]
fn generation_moves_only_on_real_changes() {
    let mut view = view_of(two_clusters());
    let start = view.generation();
    view.apply(upsert(node("b", "b1", 11, &["10.2.1.0/24"]), 101))
        .expect("same");
    view.apply(bookmark(102)).expect("bookmark");
    assert_eq!(view.generation(), start);
    view.apply(upsert(node("b", "b1", 11, &["10.2.9.0/24"]), 103))
        .expect("changed");
    assert_ne!(view.generation(), start);
}

#[test]
fn a_delete_during_a_snapshot_is_not_seen() {
    let mut view = view_of(two_clusters());
    let b2 = node("b", "b2", 12, &["10.2.2.0/24"]);
    apply_all(
        &mut view,
        [
            begin(400),
            upsert(b2, 1),
            delete(pb::RecordKind::Node, "b", "b2", 401),
        ],
    );
    assert_eq!(node_names(&view, "b"), ["b1"]);
    view.apply(end(401, EPOCH)).expect("end");
    assert!(
        view.nodes(&name("b")).next().is_none(),
        "b1 was not in the snapshot"
    );
}

#[test]
fn an_interrupted_snapshot_restarts_its_bookkeeping() {
    let mut view = view_of(two_clusters());
    let b3 = node("b", "b3", 13, &["10.2.3.0/24"]);
    apply_all(&mut view, [begin(500), upsert(b3, 1)]);
    // The stream broke; the next one starts its own snapshot, without b3.
    let b1 = node("b", "b1", 11, &["10.2.1.0/24"]);
    apply_all(&mut view, [begin(501), upsert(b1, 1), end(501, EPOCH)]);
    assert_eq!(node_names(&view, "b"), ["b1"]);
}

#[test]
fn a_reconnect_plans_no_change_for_the_dataplane() {
    let me = LocalNode {
        cluster: name("a"),
        node: "a1".into(),
    };
    let config = PlanConfig::default();
    let mut view = view_of(two_clusters());
    let before = compute(&view, &me, &config);
    apply_all(&mut view, [begin(600)]);
    let during = compute(&view, &me, &config);
    apply_all(&mut view, snapshot(two_clusters()));
    let after = compute(&view, &me, &config);
    assert_eq!(plan(&during, &before), []);
    assert_eq!(plan(&after, &before), []);
    assert!(!before.peers.is_empty());
}
