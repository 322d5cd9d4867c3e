use std::sync::Arc;
use std::time::Duration;

use clustermesh_proto::{ClusterName, PeerState, Record, RecordKind, SyncedMarker, WatchEvent, pb};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::layout;
use crate::store::memory::{MemoryStore, MemoryStoreConfig};

fn name(s: &str) -> ClusterName {
    ClusterName::new(s).expect("valid cluster name")
}

fn node(cluster: &str, node: &str) -> Record {
    Record::try_from(pb::Record {
        record: Some(pb::record::Record::Node(pb::Node {
            cluster: cluster.into(),
            name: node.into(),
            underlay_addresses: vec!["192.0.2.1".into()],
            ..Default::default()
        })),
    })
    .expect("valid node")
}

async fn put(store: &dyn Store, record: &Record) -> Revision {
    let key = clustermesh_proto::record_key(record);
    store
        .put(&key, layout::encode_record(record), None)
        .await
        .expect("put")
}

async fn setup() -> (Arc<dyn Store>, Arc<str>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
    let epoch = epoch::ensure(store.as_ref()).await.expect("epoch");
    (store, epoch.into())
}

fn open(store: &Arc<dyn Store>, epoch: &Arc<str>, scope: Scope, resume: Resume) -> Feed {
    start(
        store.clone(),
        epoch.clone(),
        scope,
        resume,
        None,
        CancellationToken::new(),
    )
}

/// The next event, as a client decodes it from the wire.
async fn next(feed: &mut Feed) -> WatchEvent {
    let event = tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("an event within 10 s")
        .expect("feed open")
        .expect("no error");
    decoded(event)
}

fn decoded(event: FeedEvent) -> WatchEvent {
    let decoded = match event.clone().into_mesh() {
        Some(msg) => WatchEvent::try_from(msg),
        None => WatchEvent::try_from(event.into_peer().expect("a heartbeat")),
    };
    decoded.expect("the feed sends only valid events")
}

/// Events up to and including the next `SnapshotEnd`.
async fn until_snapshot_end(feed: &mut Feed) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    loop {
        let event = next(feed).await;
        let end = matches!(event, WatchEvent::SnapshotEnd { .. });
        out.push(event);
        if end {
            return out;
        }
    }
}

#[tokio::test]
async fn snapshot_is_bracketed_with_markers_after_records() {
    let (store, epoch) = setup().await;
    put(store.as_ref(), &node("a", "n1")).await;
    let marker = SyncedMarker {
        cluster: name("a"),
        kind: RecordKind::Cluster,
        revision: 1,
    };
    store
        .put("a/synced/clusters", layout::encode_synced(&marker), None)
        .await
        .expect("put marker");
    put(store.as_ref(), &node("a", "n2")).await;

    let mut feed = open(&store, &epoch, Scope::Mesh, Resume::default());
    let events = until_snapshot_end(&mut feed).await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::SnapshotBegin { .. } => "begin",
            WatchEvent::Upsert { .. } => "upsert",
            WatchEvent::Synced(_) => "synced",
            WatchEvent::SnapshotEnd { .. } => "end",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["begin", "upsert", "upsert", "synced", "end"]);
    let WatchEvent::SnapshotEnd { epoch: sent, .. } = &events[4] else {
        unreachable!("checked above")
    };
    assert_eq!(**sent, *epoch);
}

#[tokio::test]
async fn resume_in_the_same_epoch_sends_only_later_changes() {
    let (store, epoch) = setup().await;
    let first = put(store.as_ref(), &node("a", "n1")).await;
    put(store.as_ref(), &node("a", "n2")).await;
    let resume = Resume {
        revision: first,
        epoch: epoch.to_string(),
    };
    let mut feed = open(&store, &epoch, Scope::Mesh, resume);
    match next(&mut feed).await {
        WatchEvent::Upsert { record, .. } => assert_eq!(record, node("a", "n2")),
        other => panic!("expected the n2 upsert, got {other:?}"),
    }
}

#[tokio::test]
async fn another_epoch_or_a_future_revision_gets_a_snapshot() {
    let (store, epoch) = setup().await;
    let revision = put(store.as_ref(), &node("a", "n1")).await;
    for resume in [
        Resume {
            revision,
            epoch: "someone-else".into(),
        },
        Resume {
            revision: revision + 100,
            epoch: epoch.to_string(),
        },
    ] {
        let mut feed = open(&store, &epoch, Scope::Mesh, resume.clone());
        assert!(
            matches!(next(&mut feed).await, WatchEvent::SnapshotBegin { .. }),
            "{resume:?}"
        );
    }
}

#[tokio::test]
async fn exports_scope_carries_only_own_records() {
    let (store, epoch) = setup().await;
    put(store.as_ref(), &node("a", "n1")).await;
    put(store.as_ref(), &node("b", "n9")).await;
    let state = PeerState {
        cluster: name("b"),
        reachable: true,
        last_heartbeat_unix_ms: None,
    };
    store
        .put(
            &layout::peer_state_key(&name("b")),
            layout::encode_peer_state(&state),
            None,
        )
        .await
        .expect("put peer state");
    store
        .put("a/registrations/n1", bytes::Bytes::from_static(b"x"), None)
        .await
        .expect("put registration");

    let mut feed = open(&store, &epoch, Scope::Exports(name("a")), Resume::default());
    let events = until_snapshot_end(&mut feed).await;
    let upserts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Upsert { record, .. } => Some(record.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(upserts, [node("a", "n1")]);

    let mut mesh = open(&store, &epoch, Scope::Mesh, Resume::default());
    let events = until_snapshot_end(&mut mesh).await;
    assert!(events.contains(&WatchEvent::PeerState(state)), "{events:?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, WatchEvent::Upsert { .. }))
            .count(),
        2,
        "internal registration must not be sent: {events:?}"
    );
}

#[tokio::test]
async fn deletes_and_heartbeats_flow_after_the_snapshot() {
    let (store, epoch) = setup().await;
    put(store.as_ref(), &node("a", "n1")).await;
    let mut feed = start(
        store.clone(),
        epoch.clone(),
        Scope::Exports(name("a")),
        Resume::default(),
        Some(Duration::from_millis(50)),
        CancellationToken::new(),
    );
    until_snapshot_end(&mut feed).await;
    store.delete("a/nodes/n1").await.expect("delete");
    let mut saw_delete = false;
    let mut saw_heartbeat = false;
    while !(saw_delete && saw_heartbeat) {
        match next(&mut feed).await {
            WatchEvent::Delete { key, .. } => {
                assert_eq!(key.to_string(), "a/nodes/n1");
                saw_delete = true;
            }
            WatchEvent::Heartbeat { unix_ms, .. } => {
                assert!(unix_ms > 0);
                saw_heartbeat = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_compacted_resume_point_gets_a_snapshot() {
    let (store, epoch) = setup().await;
    let first = put(store.as_ref(), &node("a", "n1")).await;
    let last = put(store.as_ref(), &node("a", "n2")).await;
    store.compact(last).await.expect("compact");
    let resume = Resume {
        revision: first,
        epoch: epoch.to_string(),
    };
    let mut feed = open(&store, &epoch, Scope::Mesh, resume);
    let events = until_snapshot_end(&mut feed).await;
    assert!(matches!(events[0], WatchEvent::SnapshotBegin { .. }));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, WatchEvent::Upsert { .. }))
            .count(),
        2
    );
}

#[tokio::test]
async fn shutdown_ends_the_feed() {
    let (store, epoch) = setup().await;
    let shutdown = CancellationToken::new();
    let mut feed = start(
        store,
        epoch,
        Scope::Mesh,
        Resume::default(),
        None,
        shutdown.clone(),
    );
    until_snapshot_end(&mut feed).await;
    shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("ends within 10 s");
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test]
async fn a_deleted_marker_or_peer_state_brings_a_fresh_snapshot() {
    let (store, epoch) = setup().await;
    let marker = SyncedMarker {
        cluster: name("b"),
        kind: RecordKind::Node,
        revision: 1,
    };
    store
        .put("b/synced/nodes", layout::encode_synced(&marker), None)
        .await
        .expect("put marker");
    let mut feed = open(&store, &epoch, Scope::Mesh, Resume::default());
    let first = until_snapshot_end(&mut feed).await;
    assert!(first.contains(&WatchEvent::Synced(marker.clone())));

    store.delete("b/synced/nodes").await.expect("delete marker");
    let second = until_snapshot_end(&mut feed).await;
    assert!(
        matches!(second[0], WatchEvent::SnapshotBegin { .. }),
        "{second:?}"
    );
    assert!(!second.contains(&WatchEvent::Synced(marker)), "{second:?}");
}

#[test]
fn events_read_back_from_their_wire_forms() {
    let record = node("a", "n1");
    let key = clustermesh_proto::StoreKey::parse("a/nodes/n2").expect("key");
    let marker = SyncedMarker {
        cluster: name("a"),
        kind: RecordKind::Node,
        revision: 4,
    };
    let shared = [
        (
            FeedEvent::SnapshotBegin { revision: 1 },
            WatchEvent::SnapshotBegin { revision: 1 },
        ),
        (
            FeedEvent::Upsert {
                record: layout::encode_record(&record),
                revision: 2,
            },
            WatchEvent::upsert(record.clone(), 2),
        ),
        (
            FeedEvent::Delete {
                key: key.clone(),
                revision: 3,
            },
            WatchEvent::Delete { key, revision: 3 },
        ),
        (
            FeedEvent::Synced(marker.clone()),
            WatchEvent::Synced(marker),
        ),
        (
            FeedEvent::SnapshotEnd {
                revision: 5,
                epoch: "e1".into(),
            },
            WatchEvent::SnapshotEnd {
                revision: 5,
                epoch: "e1".into(),
            },
        ),
    ];
    for (event, want) in shared {
        let mesh = event.clone().into_mesh().expect("fits Mesh.Watch");
        assert_eq!(WatchEvent::try_from(mesh).expect("valid"), want);
        let peer = event.into_peer().expect("fits PeerExport.Watch");
        assert_eq!(WatchEvent::try_from(peer).expect("valid"), want);
    }
    let state = PeerState {
        cluster: name("b"),
        reachable: false,
        last_heartbeat_unix_ms: Some(1_700_000_000_000),
    };
    let mesh_only = FeedEvent::PeerState(state.clone());
    assert_eq!(mesh_only.clone().into_peer(), None);
    let mesh = mesh_only.into_mesh().expect("fits Mesh.Watch");
    assert_eq!(
        WatchEvent::try_from(mesh).expect("valid"),
        WatchEvent::PeerState(state)
    );
    let beat = FeedEvent::Heartbeat {
        unix_ms: 1_700_000_000_000,
        revision: 9,
    };
    assert_eq!(beat.clone().into_mesh(), None);
    let peer = beat.into_peer().expect("fits PeerExport.Watch");
    assert_eq!(
        WatchEvent::try_from(peer).expect("valid"),
        WatchEvent::Heartbeat {
            unix_ms: 1_700_000_000_000,
            revision: 9
        }
    );
}
