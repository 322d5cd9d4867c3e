//! The importer's pure core, [`Mirror`]: what a peer's events turn into.

use clustermesh_proto::{
    ClusterId, ClusterName, Record, RecordKind, StoreKey, SyncedMarker, WatchEvent, pb,
};

use super::mirror::{Mirror, MirrorError};
use crate::store::{KeyValue, WriteOp};

fn name(s: &str) -> ClusterName {
    ClusterName::new(s).expect("valid name")
}

pub(super) fn node(cluster: &str, node: &str, address: &str) -> Record {
    Record::try_from(pb::Record {
        record: Some(pb::record::Record::Node(pb::Node {
            cluster: cluster.into(),
            name: node.into(),
            underlay_addresses: vec![address.into()],
            ..Default::default()
        })),
    })
    .expect("valid node")
}

fn cluster_record(cluster: &str, id: u32) -> Record {
    Record::try_from(pb::Record {
        record: Some(pb::record::Record::Cluster(pb::Cluster {
            name: cluster.into(),
            id,
            pod_cidrs: vec![],
            advertise_address: "127.0.0.1:1".into(),
        })),
    })
    .expect("valid cluster")
}

fn marker(cluster: &str, kind: RecordKind) -> WatchEvent {
    WatchEvent::Synced(SyncedMarker {
        cluster: name(cluster),
        kind,
        revision: 1,
    })
}

fn mirror() -> Mirror {
    Mirror::new(name("b"), ClusterId::try_from(2u32).expect("id"), &[])
}

fn upsert(record: Record) -> WatchEvent {
    WatchEvent::upsert(record, 5)
}

fn keys(ops: &[WriteOp]) -> Vec<String> {
    ops.iter().map(ToString::to_string).collect()
}

fn apply_all(mirror: &mut Mirror, events: Vec<WatchEvent>) -> Vec<String> {
    events
        .into_iter()
        .flat_map(|e| keys(&mirror.apply(e).expect("accepted")))
        .collect()
}

#[test]
fn snapshot_writes_records_then_markers_at_its_end() {
    let mut m = mirror();
    let ops = apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 9 },
            upsert(node("b", "n1", "192.0.2.1")),
            marker("b", RecordKind::Node),
        ],
    );
    assert_eq!(
        ops,
        ["put b/nodes/n1"],
        "markers wait for the snapshot's end"
    );
    let ops = apply_all(
        &mut m,
        vec![WatchEvent::SnapshotEnd {
            revision: 9,
            epoch: "e".into(),
        }],
    );
    assert_eq!(ops, ["put b/synced/nodes"]);
    assert_eq!(m.resume().revision, 9);
    assert_eq!(m.resume().epoch, "e");
}

#[test]
fn a_resnapshot_removes_only_what_it_no_longer_holds_and_skips_unchanged() {
    let held: Vec<KeyValue> = [node("b", "n1", "192.0.2.1"), node("b", "n2", "192.0.2.2")]
        .iter()
        .map(|r| KeyValue {
            key: clustermesh_proto::record_key(r),
            value: crate::layout::encode_record(r),
            create_revision: 1,
            mod_revision: 1,
            lease: None,
        })
        .collect();
    let mut m = Mirror::new(name("b"), ClusterId::try_from(2u32).expect("id"), &held);
    let ops = apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 20 },
            upsert(node("b", "n1", "192.0.2.1")),
            upsert(node("b", "n3", "192.0.2.3")),
            marker("b", RecordKind::Node),
            WatchEvent::SnapshotEnd {
                revision: 20,
                epoch: "e2".into(),
            },
        ],
    );
    assert_eq!(
        ops,
        ["put b/nodes/n3", "delete b/nodes/n2", "put b/synced/nodes"]
    );
    // Counts follow every insert and removal: 2 held, n3 added, n2 stale.
    assert_eq!(m.counts().get(&RecordKind::Node), Some(&2));
    apply_all(
        &mut m,
        vec![WatchEvent::Delete {
            key: clustermesh_proto::StoreKey::parse("b/nodes/n1").expect("key"),
            revision: 21,
        }],
    );
    apply_all(&mut m, vec![upsert(node("b", "n3", "192.0.2.9"))]);
    assert_eq!(m.counts().get(&RecordKind::Node), Some(&1));
    apply_all(
        &mut m,
        vec![WatchEvent::Delete {
            key: clustermesh_proto::StoreKey::parse("b/nodes/n3").expect("key"),
            revision: 22,
        }],
    );
    assert!(m.counts().is_empty(), "{:?}", m.counts());
}

#[test]
fn a_record_sent_again_is_written_only_when_its_value_changed() {
    let mut m = mirror();
    let ops = apply_all(
        &mut m,
        vec![
            upsert(node("b", "n1", "192.0.2.1")),
            upsert(node("b", "n1", "192.0.2.1")),
            upsert(node("b", "n1", "192.0.2.7")),
            upsert(node("b", "n1", "192.0.2.7")),
            upsert(node("b", "n1", "192.0.2.1")),
        ],
    );
    assert_eq!(ops, ["put b/nodes/n1", "put b/nodes/n1", "put b/nodes/n1"]);
    assert_eq!(m.counts().get(&RecordKind::Node), Some(&1));
}

#[test]
fn a_snapshot_cut_by_a_disconnect_counts_for_nothing_in_the_next() {
    let mut m = mirror();
    let end = |revision| WatchEvent::SnapshotEnd {
        revision,
        epoch: "e".into(),
    };
    apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 9 },
            upsert(node("b", "n1", "192.0.2.1")),
            upsert(node("b", "n2", "192.0.2.2")),
            marker("b", RecordKind::Node),
            end(9),
        ],
    );
    // The cut snapshot sends n2 unchanged; the next one no longer holds it.
    apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 12 },
            upsert(node("b", "n2", "192.0.2.2")),
        ],
    );
    m.disconnected();
    let ops = apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 14 },
            upsert(node("b", "n1", "192.0.2.1")),
            marker("b", RecordKind::Node),
            end(14),
        ],
    );
    assert_eq!(ops, ["delete b/nodes/n2", "put b/synced/nodes"]);
    assert_eq!(m.counts().get(&RecordKind::Node), Some(&1));
}

#[test]
fn markers_the_peer_no_longer_has_are_removed() {
    let mut m = mirror();
    apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 1 },
            marker("b", RecordKind::Node),
            marker("b", RecordKind::Endpoint),
            WatchEvent::SnapshotEnd {
                revision: 1,
                epoch: "e".into(),
            },
        ],
    );
    let ops = apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 2 },
            marker("b", RecordKind::Node),
            WatchEvent::SnapshotEnd {
                revision: 2,
                epoch: "e".into(),
            },
        ],
    );
    assert_eq!(ops, ["delete b/synced/endpoints", "put b/synced/nodes"]);
}

#[test]
fn live_events_advance_the_resume_point() {
    let mut m = mirror();
    let key = StoreKey::parse("b/nodes/n1").expect("key");
    m.apply(WatchEvent::upsert(node("b", "n1", "192.0.2.1"), 7))
        .expect("upsert");
    let ops = m
        .apply(WatchEvent::Delete { key, revision: 8 })
        .expect("delete");
    assert_eq!(keys(&ops), ["delete b/nodes/n1"]);
    assert_eq!(m.resume().revision, 8);
    let ops = m
        .apply(WatchEvent::Delete {
            key: StoreKey::parse("b/nodes/unknown").expect("key"),
            revision: 9,
        })
        .expect("delete of an unknown key");
    assert!(ops.is_empty(), "nothing held, nothing to delete");
}

#[test]
fn a_peer_cannot_speak_for_another_cluster() {
    let mut m = mirror();
    let err = m
        .apply(upsert(node("c", "n1", "192.0.2.1")))
        .expect_err("foreign");
    assert!(matches!(err, MirrorError::Foreign { .. }), "{err}");
    assert!(err.to_string().contains("c/nodes/n1"), "{err}");
    let err = m
        .apply(marker("c", RecordKind::Node))
        .expect_err("foreign marker");
    assert!(matches!(err, MirrorError::Foreign { .. }), "{err}");
}

#[test]
fn a_changed_cluster_id_is_refused() {
    let mut m = mirror();
    m.apply(upsert(cluster_record("b", 2))).expect("same id");
    let err = m
        .apply(upsert(cluster_record("b", 9)))
        .expect_err("id changed");
    assert!(err.to_string().contains("cluster id 9"), "{err}");
}

#[test]
fn snapshot_end_without_begin_is_a_protocol_error() {
    let err = mirror()
        .apply(WatchEvent::SnapshotEnd {
            revision: 1,
            epoch: "e".into(),
        })
        .expect_err("no snapshot");
    assert!(matches!(err, MirrorError::Protocol { .. }), "{err}");
}

#[test]
fn stale_records_wait_for_the_peers_marker_of_their_kind() {
    // b had n1 and n2; it restarts and its first snapshot has only n1 and no marker yet.
    let mut m = mirror();
    apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 1 },
            upsert(node("b", "n1", "192.0.2.1")),
            upsert(node("b", "n2", "192.0.2.2")),
            marker("b", RecordKind::Node),
            WatchEvent::SnapshotEnd {
                revision: 1,
                epoch: "old".into(),
            },
        ],
    );
    let ops = apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 3 },
            upsert(node("b", "n1", "192.0.2.1")),
            WatchEvent::SnapshotEnd {
                revision: 3,
                epoch: "new".into(),
            },
        ],
    );
    assert_eq!(
        ops,
        ["delete b/synced/nodes"],
        "n2 stays until b says its node export is complete"
    );
    let ops = apply_all(&mut m, vec![marker("b", RecordKind::Node)]);
    assert_eq!(ops, ["delete b/nodes/n2", "put b/synced/nodes"]);
}

#[test]
fn a_pending_record_sent_again_is_kept() {
    let mut m = mirror();
    apply_all(
        &mut m,
        vec![
            WatchEvent::SnapshotBegin { revision: 1 },
            upsert(node("b", "n2", "192.0.2.2")),
            WatchEvent::SnapshotEnd {
                revision: 1,
                epoch: "e".into(),
            },
            WatchEvent::SnapshotBegin { revision: 2 },
            WatchEvent::SnapshotEnd {
                revision: 2,
                epoch: "e".into(),
            },
        ],
    );
    let ops = apply_all(
        &mut m,
        vec![
            upsert(node("b", "n2", "192.0.2.2")),
            marker("b", RecordKind::Node),
        ],
    );
    assert_eq!(
        ops,
        ["put b/synced/nodes"],
        "n2 came back before the marker"
    );
}

#[test]
fn heartbeats_move_the_resume_point() {
    let mut m = mirror();
    m.apply(WatchEvent::Heartbeat {
        unix_ms: 1,
        revision: 42,
    })
    .expect("heartbeat");
    assert_eq!(m.resume().revision, 42);
}
