use clustermesh_proto::pb;

use super::*;
use crate::fixtures::{self, *};

mod snapshot;

pub(super) fn node_names(view: &MergedView, cluster: &str) -> Vec<String> {
    view.nodes(&name(cluster))
        .map(|n| n.name.to_string())
        .collect()
}

fn web() -> ServiceName {
    ServiceName::parse("shop/web").expect("valid name")
}

pub(super) fn two_clusters() -> Vec<pb::Record> {
    vec![
        cluster("a", 1, &["10.1.0.0/16"]).into_record(),
        cluster("b", 2, &["10.2.0.0/16"]).into_record(),
        node("a", "a1", 1, &["10.1.1.0/24"]).into_record(),
        node("b", "b1", 11, &["10.2.1.0/24"]).into_record(),
        node("b", "b2", 12, &["10.2.2.0/24"]).into_record(),
        service("a", "10.96.0.10").into_record(),
        service("b", "10.97.0.10").into_record(),
    ]
}

#[test]
fn snapshot_fills_the_view_and_sets_the_resume_point() {
    let mut view = MergedView::new();
    assert_eq!(view.resume_point(), None);
    assert!(!view.is_initialized());
    view.apply(begin(100)).expect("begin");
    assert!(view.in_snapshot());
    apply_all(&mut view, two_clusters().into_iter().map(|r| upsert(r, 7)));
    // Snapshot upserts carry their record's revision, not the stream position.
    assert_eq!(view.resume_point(), None);
    view.apply(end(100, EPOCH)).expect("end");

    let resume = ResumePoint {
        revision: 100,
        epoch: EPOCH.into(),
    };
    assert_eq!(view.resume_point(), Some(&resume));
    assert!(view.is_initialized() && !view.in_snapshot());
    assert_eq!(view.clusters().count(), 2);
    assert_eq!(node_names(&view, "b"), ["b1", "b2"]);
    assert!(view.node(&name("a"), "a1").is_some());
    let web = view.service(&web()).expect("service");
    assert_eq!(
        web.keys().map(ToString::to_string).collect::<Vec<_>>(),
        ["a", "b"]
    );
}

#[test]
fn live_events_and_bookmarks_advance_the_resume_point() {
    let mut view = view_of(two_clusters());
    let revision = |v: &MergedView| v.resume_point().map(|r| r.revision);
    view.apply(upsert(node("b", "b3", 13, &["10.2.3.0/24"]), 101))
        .expect("upsert");
    assert_eq!(revision(&view), Some(101));
    view.apply(bookmark(150)).expect("bookmark");
    assert_eq!(revision(&view), Some(150));
    view.apply(delete(pb::RecordKind::Node, "b", "b3", 151))
        .expect("delete");
    assert_eq!(revision(&view), Some(151));
    // A misordered event never moves the point back, which would replay history.
    view.apply(bookmark(120)).expect("bookmark");
    assert_eq!(revision(&view), Some(151));
    // Markers and peer states carry no stream position.
    view.apply(peer_state("b", true)).expect("peer state");
    view.apply(synced("b", pb::RecordKind::Node, 900))
        .expect("synced");
    assert_eq!(revision(&view), Some(151));
    assert_eq!(view.resume_point().map(|r| r.epoch.as_str()), Some(EPOCH));
}

#[test]
fn live_events_before_any_snapshot_apply_but_give_no_resume_point() {
    let mut view = MergedView::new();
    view.apply(upsert(node("b", "b1", 11, &[]), 5))
        .expect("upsert");
    view.apply(bookmark(6)).expect("bookmark");
    assert_eq!(node_names(&view, "b"), ["b1"]);
    assert_eq!(view.resume_point(), None);
}

#[test]
fn a_new_epoch_replaces_the_resume_point() {
    let mut view = view_of(two_clusters());
    apply_all(&mut view, [begin(3), end(3, "epoch-2")]);
    let resume = ResumePoint {
        revision: 3,
        epoch: "epoch-2".into(),
    };
    assert_eq!(view.resume_point(), Some(&resume));
}

#[test]
fn deletes_remove_records_of_every_kind() {
    let mut view = view_of(two_clusters());
    apply_all(
        &mut view,
        [
            delete(pb::RecordKind::Node, "b", "b1", 101),
            delete(pb::RecordKind::GlobalService, "b", "shop/web", 102),
            delete(pb::RecordKind::Cluster, "b", "b", 103),
            // Deleting what is not there is harmless.
            delete(pb::RecordKind::Node, "c", "c9", 104),
        ],
    );
    assert_eq!(node_names(&view, "b"), ["b2"]);
    assert!(view.cluster(&name("b")).is_none());
    let left = view.service(&web()).expect("still in a");
    assert_eq!(
        left.keys().map(ToString::to_string).collect::<Vec<_>>(),
        ["a"]
    );

    view.apply(delete(pb::RecordKind::GlobalService, "a", "shop/web", 105))
        .expect("delete");
    view.apply(delete(pb::RecordKind::Node, "b", "b2", 106))
        .expect("delete");
    assert!(
        view.service(&web()).is_none(),
        "no empty group is left behind"
    );
    assert_eq!(view.services().count(), 0);
    assert_eq!(view.nodes_by_cluster().count(), 1);
}

#[test]
fn protocol_violations_are_refused_and_change_nothing() {
    let mut view = view_of(two_clusters());
    let generation = view.generation();
    let heartbeat = WatchEvent::Heartbeat {
        unix_ms: 1,
        revision: 999,
    };
    assert_eq!(view.apply(heartbeat), Err(ViewError::UnexpectedHeartbeat));
    assert_eq!(
        view.apply(end(999, EPOCH)),
        Err(ViewError::SnapshotEndWithoutBegin { revision: 999 })
    );
    assert_eq!(view.generation(), generation);
    assert_eq!(view.resume_point().map(|r| r.revision), Some(100));
    assert_eq!(node_names(&view, "b"), ["b1", "b2"]);
}

#[test]
fn peers_are_reachable_unless_marked_otherwise() {
    let mut view = fixtures::view_of(two_clusters());
    assert!(view.is_reachable(&name("b")), "no state yet");
    view.apply(peer_state("b", false)).expect("state");
    assert!(!view.is_reachable(&name("b")));
    assert!(view.is_reachable(&name("a")));
    view.apply(peer_state("b", true)).expect("state");
    assert!(view.is_reachable(&name("b")));
    assert_eq!(view.peer_states().count(), 1);
}

#[test]
fn identities_and_endpoints_are_kept_and_pruned_too() {
    let identity = pb::Identity {
        cluster: "b".into(),
        id: 2 << 16 | 1,
        namespace: "shop".into(),
        labels: [("app".to_owned(), "web".to_owned())].into(),
    };
    let endpoint = endpoint("10.2.1.7", "b1", "web-1");
    let mut view = view_of(vec![identity.clone().into_record(), endpoint.into_record()]);
    assert_eq!(
        (view.identities().count(), view.endpoints().count()),
        (1, 1)
    );
    view.apply(delete(pb::RecordKind::Endpoint, "b", "10.2.1.7", 101))
        .expect("delete");
    assert_eq!(view.endpoints().count(), 0);
    apply_all(&mut view, [begin(102), end(102, EPOCH)]);
    assert_eq!(view.identities().count(), 0);
    // Back by a live event, then gone by its key.
    apply_all(&mut view, [upsert(identity, 103)]);
    assert_eq!(view.identities().count(), 1);
    view.apply(delete(pb::RecordKind::Identity, "b", "131073", 104))
        .expect("delete");
    assert_eq!(view.identities().count(), 0);
}

fn pod(ip: &str, node: &str, pod: &str) -> pb::Record {
    endpoint(ip, node, pod).into_record()
}

#[test]
fn a_snapshot_keeps_the_endpoints_it_sent_and_drops_the_others() {
    let mut view = view_of(vec![
        pod("10.2.1.7", "b1", "web-1"),
        pod("10.2.1.8", "b1", "web-2"),
    ]);
    let generation = view.generation();
    // The reconnect re-sends one endpoint unchanged and moves the other's pod.
    apply_all(
        &mut view,
        [
            begin(200),
            upsert(pod("10.2.1.7", "b1", "web-1"), 150),
            upsert(pod("10.2.1.9", "b2", "web-2"), 199),
        ],
    );
    // Nothing is dropped before the snapshot ends.
    assert_eq!(view.endpoint_count(), 3);
    apply_all(&mut view, [end(200, EPOCH)]);
    let held: Vec<(String, &str, &str)> = view
        .endpoints()
        .map(|e| (e.ip.to_string(), e.node, e.pod))
        .collect();
    assert_eq!(
        held,
        [
            ("10.2.1.7".to_owned(), "b1", "web-1"),
            ("10.2.1.9".to_owned(), "b2", "web-2")
        ]
    );
    assert!(view.has_endpoint(&name("b"), "10.2.1.9".parse().expect("ip")));
    assert!(!view.has_endpoint(&name("b"), "10.2.1.8".parse().expect("ip")));
    assert_ne!(view.generation(), generation);
    assert_eq!(
        view.record_counts()[&clustermesh_proto::RecordKind::Endpoint],
        2
    );
}

#[test]
fn an_endpoint_sent_again_unchanged_is_no_change_and_a_changed_one_is() {
    let mut view = view_of(vec![pod("10.2.1.7", "b1", "web-1")]);
    let generation = view.generation();
    view.apply(upsert(pod("10.2.1.7", "b1", "web-1"), 300))
        .expect("same");
    assert_eq!(view.generation(), generation);
    view.apply(upsert(pod("10.2.1.7", "b2", "web-1"), 301))
        .expect("moved");
    assert_ne!(view.generation(), generation);
    let nodes: Vec<&str> = view.endpoints().map(|e| e.node).collect();
    assert_eq!(nodes, ["b2"]);
    assert_eq!(view.endpoint_count(), 1);
}
