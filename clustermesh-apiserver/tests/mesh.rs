//! Three in-process apiservers connected pairwise through the Admin API: exports show up
//! in every peer with synced markers, changes propagate fast, a stopped peer is marked
//! unreachable in time, and a restarted one is resynced with stale entries removed.

mod support;

use std::time::{Duration, Instant};

use clustermesh_apiserver::layout;
use clustermesh_proto::{PeerState, Record, RecordKind, SyncedKey, pb};
use futures::StreamExt;
use support::{TestCluster, connect, manifests, within};

const WAIT: Duration = Duration::from_secs(30);

async fn three() -> [TestCluster; 3] {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    let c = TestCluster::start("c", 3).await;
    for x in [&a, &b, &c] {
        x.wait_synced().await;
    }
    connect(&a, &b).await.expect("connect a and b");
    connect(&a, &c).await.expect("connect a and c");
    connect(&b, &c).await.expect("connect b and c");
    [a, b, c]
}

fn kinds(records: &[Record]) -> Vec<RecordKind> {
    let mut kinds: Vec<RecordKind> = records.iter().map(clustermesh_proto::Keyed::kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

async fn all_synced(importer: &TestCluster, peer: &str) -> bool {
    for kind in RecordKind::ALL {
        let key = SyncedKey::new(support::name(peer), kind).to_string();
        if !importer.has_key(&key).await {
            return false;
        }
    }
    true
}

#[tokio::test]
async fn three_clusters_see_each_others_exports_with_synced_markers() {
    let clusters = three().await;
    for importer in &clusters {
        for exporter in clusters.iter().filter(|c| c.name != importer.name) {
            let what = format!("{} imports {}", importer.name, exporter.name);
            within(WAIT, &what, || all_synced(importer, exporter.name.as_str())).await;
            let imported = importer.records_of(exporter.name.as_str()).await;
            let exported = exporter.records_of(exporter.name.as_str()).await;
            assert_eq!(imported, exported, "{what}: the copy equals the original");
            assert_eq!(
                kinds(&imported),
                RecordKind::ALL.to_vec(),
                "{what}: every kind"
            );
        }
    }

    // The merged view has demo/web from all three clusters, all reachable.
    let [a, _, _] = &clusters;
    let mut admin = a.admin().await;
    within(WAIT, "a lists demo/web with three clusters", || {
        let mut admin = admin.clone();
        async move {
            let services = admin
                .list_global_services(pb::ListGlobalServicesRequest::default())
                .await
                .expect("list")
                .into_inner()
                .services;
            services.len() == 1
                && services[0].clusters.len() == 3
                && services[0]
                    .clusters
                    .iter()
                    .all(|c| c.reachable && c.backends.len() == 1)
        }
    })
    .await;
    let status = admin
        .get_status(pb::GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(status.peers.len(), 2, "{status:?}");
    for peer in &status.peers {
        assert!(peer.connected && peer.reachable, "{peer:?}");
        assert_eq!(peer.synced_kinds.len(), RecordKind::ALL.len(), "{peer:?}");
        assert_eq!(peer.record_counts.get("services"), Some(&1), "{peer:?}");
    }
}

#[tokio::test]
async fn a_backend_turning_not_ready_reaches_a_peer_within_200ms() {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    a.wait_synced().await;
    b.wait_synced().await;
    connect(&a, &b).await.expect("connect");
    within(WAIT, "b imports a", || all_synced(&b, "a")).await;

    let key = "a/services/demo/web";
    let start_revision = b.store.list("~").await.expect("revision").revision;
    let mut watch = b.store.watch(key, start_revision).await.expect("watch");
    let changed = Instant::now();
    a.write_manifest("cluster.yaml", &manifests::cluster("a", 1, false));
    let seen = tokio::time::timeout(WAIT, async {
        loop {
            let response = watch.next().await.expect("watch open").expect("no error");
            for event in response.events.iter() {
                if let clustermesh_apiserver::store::Event::Put(kv) = event
                    && let Ok(Record::GlobalService(service)) =
                        layout::decode_record(&kv.key, &kv.value)
                    && !service.backends.is_empty()
                    && service.backends.iter().all(|b| !b.ready)
                {
                    return Instant::now();
                }
            }
        }
    })
    .await
    .expect("the change arrives");
    let took = seen - changed;
    assert!(
        took <= Duration::from_millis(200),
        "not-ready backend visible in the peer after {took:?}, bound is 200 ms"
    );
}

async fn peer_state(importer: &TestCluster, peer: &str) -> Option<PeerState> {
    let key = layout::peer_state_key(&support::name(peer));
    let kv = importer.store.get(&key).await.expect("get")?;
    Some(layout::decode_peer_state(&key, &kv.value).expect("valid peer state"))
}

#[tokio::test]
async fn a_stopped_peer_is_unreachable_in_time_and_resynced_after_restart() {
    let a = TestCluster::start("a", 1).await;
    let mut b = TestCluster::start("b", 2).await;
    a.wait_synced().await;
    b.wait_synced().await;
    connect(&a, &b).await.expect("connect");
    within(WAIT, "a imports b", || all_synced(&a, "b")).await;
    within(WAIT, "b reachable", || async {
        peer_state(&a, "b").await.is_some_and(|s| s.reachable)
    })
    .await;

    let stopped = Instant::now();
    b.stop().await;
    let bound = a.import.peer_timeout + Duration::from_secs(1);
    within(bound + Duration::from_secs(5), "b unreachable", || async {
        peer_state(&a, "b").await.is_some_and(|s| !s.reachable)
    })
    .await;
    let took = stopped.elapsed();
    assert!(
        took <= bound,
        "b marked unreachable after {took:?}, bound is {bound:?}"
    );
    assert!(
        !a.records_of("b").await.is_empty(),
        "b's records stay cached while it is unreachable"
    );

    // While b restarts, a must not drop b's node even for a moment: b's first snapshot
    // may come before b has exported everything again.
    let from = a.store.list("~").await.expect("revision").revision;
    let mut node_events = a.store.watch("b/nodes/", from).await.expect("watch");

    // b comes back with a fresh store (a new epoch) and without its global service.
    b.write_manifest(
        "cluster.yaml",
        &[manifests::node("b", 2), manifests::pod("b", 2)].join("---\n"),
    );
    b.restart(support::fresh_store()).await;
    within(WAIT, "b reachable again", || async {
        peer_state(&a, "b").await.is_some_and(|s| s.reachable)
    })
    .await;
    within(WAIT, "stale b/services/demo/web removed", || async {
        !a.has_key("b/services/demo/web").await && all_synced(&a, "b").await
    })
    .await;
    assert_eq!(a.records_of("b").await, b.records_of("b").await);
    while let Some(Some(Ok(response))) = futures::FutureExt::now_or_never(node_events.next()) {
        for event in response.events.iter() {
            assert!(
                !matches!(event, clustermesh_apiserver::store::Event::Delete { .. }),
                "a deleted a node of b during b's restart: {event:?}"
            );
        }
    }
}

#[tokio::test]
async fn agents_register_and_watch_the_merged_view() {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    a.wait_synced().await;
    b.wait_synced().await;
    connect(&a, &b).await.expect("connect");

    let mut agent = b.agent("b-node1").await;
    let registered = agent
        .register_node(pb::RegisterNodeRequest {
            node_name: "b-node1".into(),
            wireguard: Some(pb::WireGuard {
                public_key: vec![7; 32],
                listen_port: 51820,
                endpoint: "192.168.2.10:51820".into(),
            }),
        })
        .await
        .expect("register")
        .into_inner();
    assert_eq!(registered.ttl_ms, 3000);
    assert!(registered.heartbeat_interval_ms < registered.ttl_ms);
    agent
        .heartbeat(pb::HeartbeatRequest {
            node_name: "b-node1".into(),
            lease_id: registered.lease_id,
            tunnels: Some(pb::TunnelReport { expected: 2, up: 1 }),
        })
        .await
        .expect("heartbeat");

    let mut admin = b.admin().await;
    let status = admin
        .get_status(pb::GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let node = status
        .nodes
        .iter()
        .find(|n| n.name == "b-node1")
        .expect("b-node1 in status");
    assert!(node.last_heartbeat_unix_ms > 0, "{node:?}");
    assert_eq!(
        node.tunnels,
        Some(pb::TunnelReport { expected: 2, up: 1 }),
        "the agent's tunnel report reaches status"
    );

    // The WireGuard key reaches the peer's copy of b's node.
    within(WAIT, "a sees b-node1's WireGuard key", || async {
        a.records_of("b").await.iter().any(|r| {
            matches!(r, Record::Node(n) if n.wireguard.as_ref().is_some_and(|wg| wg.public_key.as_bytes() == &[7; 32]))
        })
    })
    .await;

    // a's agent gets both clusters in one snapshot, then the peer state.
    let mut watcher = a.agent("a-node1").await;
    let mut stream = watcher
        .watch(pb::WatchRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let mut clusters = std::collections::BTreeSet::new();
    let mut saw_peer_state = false;
    loop {
        let message = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("event in time")
            .expect("stream ok")
            .expect("stream open");
        match clustermesh_proto::WatchEvent::try_from(message).expect("valid event") {
            clustermesh_proto::WatchEvent::Upsert { record, .. } => {
                clusters.insert(clustermesh_proto::Keyed::cluster(&record).to_string());
            }
            clustermesh_proto::WatchEvent::PeerState(state) => {
                assert_eq!(state.cluster.as_str(), "b");
                saw_peer_state = true;
            }
            clustermesh_proto::WatchEvent::SnapshotEnd { epoch, .. } => {
                assert!(!epoch.is_empty());
                break;
            }
            _ => {}
        }
    }
    assert_eq!(clusters.into_iter().collect::<Vec<_>>(), ["a", "b"]);
    assert!(saw_peer_state, "the snapshot carries b's peer state");
}

async fn peer_status(importer: &TestCluster, peer: &str) -> Option<pb::PeerStatus> {
    let status = importer
        .admin()
        .await
        .get_status(pb::GetStatusRequest {})
        .await
        .ok()?
        .into_inner();
    status.peers.into_iter().find(|p| p.name == peer)
}

/// Feeds forward stored records without decoding them, so a damaged one reaches the
/// importer: it must be skipped there, and not cost the stream or any other record.
#[tokio::test]
async fn a_damaged_record_at_the_peer_is_skipped_and_the_rest_still_arrives() {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    for x in [&a, &b] {
        x.wait_synced().await;
    }
    connect(&a, &b).await.expect("connect a and b");
    within(WAIT, "b imports a", || all_synced(&b, "a")).await;

    let damaged = "a/nodes/damaged";
    a.store
        .put(damaged, bytes::Bytes::from_static(&[0x12, 0xff]), None)
        .await
        .expect("put the damaged value");
    let late = Record::Node(
        pb::Node {
            cluster: "a".into(),
            name: "late".into(),
            underlay_addresses: vec!["192.0.2.99".into()],
            ..Default::default()
        }
        .try_into()
        .expect("valid node"),
    );
    a.store
        .put("a/nodes/late", layout::encode_record(&late), None)
        .await
        .expect("put a good record after it");

    within(WAIT, "the record after the damaged one reaches b", || {
        b.has_key("a/nodes/late")
    })
    .await;
    assert!(
        !b.has_key(damaged).await,
        "the damaged record is not imported"
    );
    let status = peer_status(&b, "a").await.expect("b reports peer a");
    assert_eq!(status.rejected_events, 1, "{status:?}");
    assert!(status.connected, "the stream stayed open: {status:?}");
    assert_eq!(status.last_error, "", "no reconnect: {status:?}");
}
