use super::*;
use crate::records::fixtures;

fn shared_events() -> Vec<WatchEvent> {
    let cluster = ClusterName::new("c1").expect("valid");
    vec![
        WatchEvent::SnapshotBegin { revision: 1 },
        WatchEvent::Upsert {
            record: Record::Node(fixtures::node().try_into().expect("valid")),
            revision: 2,
        },
        WatchEvent::Delete {
            key: StoreKey::new(cluster.clone(), RecordKind::GlobalService, "shop/web")
                .expect("valid"),
            revision: 3,
        },
        WatchEvent::Synced(SyncedMarker {
            cluster,
            kind: RecordKind::Endpoint,
            revision: 4,
        }),
        WatchEvent::SnapshotEnd {
            revision: 5,
            epoch: "e1".into(),
        },
        WatchEvent::Bookmark { revision: 6 },
    ]
}

#[test]
fn mesh_events_roundtrip() {
    let peer_state = WatchEvent::PeerState(PeerState {
        cluster: ClusterName::new("c2").expect("valid"),
        reachable: false,
        last_heartbeat_unix_ms: Some(1_700_000_000_000),
    });
    for event in shared_events().into_iter().chain([peer_state]) {
        let msg = event.clone().into_mesh().expect("fits Mesh.Watch");
        assert_eq!(WatchEvent::try_from(msg).expect("valid"), event);
    }
    let heartbeat = WatchEvent::Heartbeat {
        unix_ms: 1,
        revision: 2,
    };
    assert_eq!(heartbeat.into_mesh(), None);
}

#[test]
fn peer_events_roundtrip() {
    let heartbeat = WatchEvent::Heartbeat {
        unix_ms: 1_700_000_000_000,
        revision: 9,
    };
    for event in shared_events().into_iter().chain([heartbeat]) {
        let msg = event.clone().into_peer().expect("fits PeerExport.Watch");
        assert_eq!(WatchEvent::try_from(msg).expect("valid"), event);
    }
    let state = PeerState {
        cluster: ClusterName::new("c2").expect("valid"),
        reachable: true,
        last_heartbeat_unix_ms: None,
    };
    assert_eq!(WatchEvent::PeerState(state).into_peer(), None);
}

fn mesh(event: pb::watch_response::Event) -> pb::WatchResponse {
    pb::WatchResponse { event: Some(event) }
}

#[test]
fn rejections() {
    use pb::watch_response::Event as E;
    let delete = |cluster: &str, kind: pb::RecordKind, key: &str| {
        mesh(E::Delete(pb::Delete {
            kind: kind.into(),
            cluster: cluster.into(),
            key: key.into(),
            revision: 1,
        }))
    };
    let cases = [
        (pb::WatchResponse::default(), "missing event"),
        (
            mesh(E::Upsert(pb::Upsert::default())),
            "upsert: record: missing record",
        ),
        (
            mesh(E::Synced(pb::Synced::default())),
            "synced: missing marker",
        ),
        (
            delete("c1", pb::RecordKind::Unspecified, "n1"),
            "delete: kind: kind must be specified",
        ),
        (
            delete("", pb::RecordKind::Node, "n1"),
            "delete: cluster: invalid cluster name \"\"",
        ),
        (
            delete("c1", pb::RecordKind::Node, "N1"),
            "delete: key: invalid store key \"c1/nodes/N1\": invalid DNS subdomain \"N1\"",
        ),
        (
            delete("c1", pb::RecordKind::Endpoint, "fd00:0::1"),
            "delete: key: invalid store key \"c1/endpoints/fd00:0::1\": name is not canonical",
        ),
    ];
    for (msg, want) in cases {
        let err = WatchEvent::try_from(msg).expect_err(want).to_string();
        assert!(err.starts_with(want), "got {err:?}, want {want:?}");
    }
}
