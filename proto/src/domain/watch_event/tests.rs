use super::*;
use crate::records::fixtures;

fn node() -> Record {
    Record::Node(fixtures::node().try_into().expect("valid"))
}

#[test]
fn mesh_events_decode() {
    use pb::watch_response::Event as E;
    let encoded = node().encode();
    let cases = [
        (
            E::SnapshotBegin(pb::SnapshotBegin { revision: 1 }),
            WatchEvent::SnapshotBegin { revision: 1 },
        ),
        (
            E::Upsert(pb::Upsert {
                record: encoded.clone(),
                revision: 2,
            }),
            WatchEvent::upsert(node(), 2),
        ),
        (
            E::Delete(pb::Delete {
                kind: pb::RecordKind::GlobalService.into(),
                cluster: "c1".into(),
                key: "shop/web".into(),
                revision: 3,
            }),
            WatchEvent::Delete {
                key: StoreKey::new(
                    ClusterName::new("c1").expect("valid"),
                    RecordKind::GlobalService,
                    "shop/web",
                )
                .expect("valid"),
                revision: 3,
            },
        ),
        (
            E::SnapshotEnd(pb::SnapshotEnd {
                revision: 5,
                epoch: "e1".into(),
            }),
            WatchEvent::SnapshotEnd {
                revision: 5,
                epoch: "e1".into(),
            },
        ),
        (
            E::Bookmark(pb::Bookmark { revision: 6 }),
            WatchEvent::Bookmark { revision: 6 },
        ),
    ];
    for (msg, want) in cases {
        assert_eq!(WatchEvent::try_from(mesh(msg)).expect("valid"), want);
    }
}

#[test]
fn an_upsert_keeps_the_bytes_it_came_in() {
    let encoded = node().encode();
    let msg = pb::PeerWatchResponse {
        event: Some(pb::peer_watch_response::Event::Upsert(pb::Upsert {
            record: encoded.clone(),
            revision: 7,
        })),
    };
    match WatchEvent::try_from(msg).expect("valid") {
        WatchEvent::Upsert {
            record,
            encoded: kept,
            revision,
        } => {
            assert_eq!((record, revision), (node(), 7));
            assert_eq!(kept, encoded);
        }
        other => panic!("not an upsert: {other:?}"),
    }
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
            mesh(E::Upsert(pb::Upsert {
                record: bytes::Bytes::from_static(&[0x0a, 0xff]),
                revision: 1,
            })),
            "upsert: record: not an encoded record: ",
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
