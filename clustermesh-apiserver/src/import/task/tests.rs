use super::*;
use crate::import::tests::node;

fn put(key: &str, value: &'static str) -> WriteOp {
    WriteOp::Put {
        key: key.into(),
        value: bytes::Bytes::from_static(value.as_bytes()),
        lease: None,
    }
}

#[test]
fn coalesce_keeps_the_last_write_per_key_in_order() {
    let ops = vec![
        put("a", "1"),
        put("b", "1"),
        WriteOp::Delete { key: "a".into() },
        put("b", "2"),
        put("c", "1"),
    ];
    assert_eq!(
        coalesce(ops),
        [
            WriteOp::Delete { key: "a".into() },
            put("b", "2"),
            put("c", "1")
        ]
    );
}

/// A peer whose messages are all already here; once they are read, it is quiet.
struct Arrived(std::collections::VecDeque<link::Received>);

impl PeerEvents for Arrived {
    async fn next(&mut self) -> Result<Option<link::Received>, LinkError> {
        match self.0.pop_front() {
            Some(event) => Ok(Some(event)),
            None => std::future::pending().await,
        }
    }
}

fn peer() -> PeerConfig {
    let cluster = clustermesh_proto::Cluster::try_from(clustermesh_proto::pb::Cluster {
        name: "b".into(),
        id: 2,
        pod_cidrs: vec![],
        advertise_address: "127.0.0.1:1".into(),
    })
    .expect("valid cluster");
    PeerConfig {
        cluster,
        ca_pem: String::new(),
        cert_pem: String::new(),
        key_pem: String::new(),
    }
}

/// A feed batch reaches the importer as many messages at once; writing the first alone
/// and the rest behind it cost a whole store write per hop (two raft commits, not one).
#[tokio::test]
async fn messages_that_arrived_together_go_into_one_store_write() {
    use crate::store::memory::{MemoryStore, MemoryStoreConfig};

    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
    let (status, mut status_rx) = watch::channel(ImportStatus::default());
    let task = ImportTask {
        store: store.clone(),
        peer: peer(),
        timings: ImportTimings::default(),
        status,
    };
    let nodes = 50;
    let events: std::collections::VecDeque<link::Received> =
        std::iter::once(WatchEvent::SnapshotBegin { revision: 9 })
            .chain(
                (0..nodes).map(|i| WatchEvent::upsert(node("b", &format!("n{i}"), "192.0.2.1"), 9)),
            )
            .chain([WatchEvent::SnapshotEnd {
                revision: 9,
                epoch: "e".into(),
            }])
            .map(Ok)
            .collect();
    let expected = events.len() as u64;

    let shutdown = CancellationToken::new();
    let mut mirror = Mirror::new(task.peer.cluster.name.clone(), task.peer.cluster.id, &[]);
    let timings = &task.timings;
    let mut reach = Reachability::new(Instant::now(), timings.peer_timeout, timings.cache_ttl);
    let mut backoff = timings.backoff_min;
    let mirrored = task.mirror(
        Arrived(events),
        &mut mirror,
        &mut reach,
        &mut backoff,
        &shutdown,
    );
    let all_written = async {
        let written = status_rx.wait_for(|s| s.events == expected).await.is_ok();
        shutdown.cancel();
        written
    };
    let deadline = Duration::from_secs(10);
    let (ended, written) =
        tokio::time::timeout(deadline, async { tokio::join!(mirrored, all_written) })
            .await
            .expect("the importer wrote what it was sent within 10 s");
    assert!(written, "the status channel stayed open");
    assert!(matches!(ended, Err(StreamEnd::Shutdown)), "{ended:?}");

    let held = store.list("").await.expect("list");
    assert_eq!(
        held.revision, 1,
        "one write for everything that arrived together"
    );
    let node_keys = (held.items.iter())
        .filter(|kv| kv.key.starts_with("b/nodes/"))
        .count();
    assert_eq!(node_keys, nodes);
}
