//! Raft-only behaviour with three replicas: leader loss under load, catch-up by
//! snapshot, and refusing to start on a missing or damaged data directory.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clustermesh_apiserver::store::raft::{RaftStore, RaftStoreError, StartMode};
use clustermesh_apiserver::store::testing::{RaftCluster, eventually};
use clustermesh_apiserver::store::{Store, StoreError};
use std::sync::Mutex;
use tokio::time::Instant;

/// Every write a writer saw acknowledged, with the time of its acknowledgement.
#[derive(Default)]
struct Acks {
    keys: Vec<(Instant, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_killed_under_load_loses_no_acknowledged_write() {
    let mut cluster = RaftCluster::start(3, |_| {}).await.expect("replica set");
    let leader = cluster.leader().await.expect("leader");
    let survivors: Vec<Arc<RaftStore>> = cluster
        .running()
        .into_iter()
        .filter(|id| *id != leader)
        .filter_map(|id| cluster.node(id))
        .collect();

    let acks = Arc::new(Mutex::new(Acks::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..4 {
        let store = survivors[w % survivors.len()].clone();
        let (acks, stop) = (acks.clone(), stop.clone());
        writers.spawn(async move {
            let mut ambiguous = 0u32;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let key = format!("load/{w}/{i}");
                match store.put(&key, Bytes::from_static(b"x"), None).await {
                    Ok(_) => acks.lock().expect("acks").keys.push((Instant::now(), key)),
                    // Not acknowledged: the writer moves on, the check ignores it.
                    Err(StoreError::Unavailable { .. }) => ambiguous += 1,
                    Err(other) => panic!("writer {w}: unexpected error {other}"),
                }
            }
            ambiguous
        });
    }

    let acked = |n: usize| acks.lock().expect("acks").keys.len() >= n;
    let first_ack_after = |t: Instant| {
        let acks = acks.lock().expect("acks");
        acks.keys.iter().map(|(at, _)| *at).find(|at| *at > t)
    };
    eventually("writers made progress before the kill", || async {
        acked(200)
    })
    .await;

    let killed_at = Instant::now();
    cluster.stop_node(leader).await;
    let stopped_at = Instant::now();
    let stopped = stopped_at - killed_at;
    let new_leader = cluster.leader().await.expect("a new leader");
    assert_ne!(new_leader, leader);
    println!(
        "leader {leader} stopped in {stopped:?}; replica {new_leader} leads after {:?}",
        killed_at.elapsed()
    );

    // Writes resume: some acknowledgement lands after the old leader is fully stopped
    // (the dying leader may still commit while it shuts down), within 3 s of the kill.
    // The figure comes from the acknowledgement's own timestamp, not from the polling.
    eventually(
        "a write acknowledged after the leader was killed",
        || async { first_ack_after(stopped_at).is_some() },
    )
    .await;
    let resumed = first_ack_after(stopped_at).expect("seen above") - killed_at;
    let target = acks.lock().expect("acks").keys.len() + 200;
    eventually("writers keep going under the new leader", || async {
        acked(target)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let ambiguous: u32 = writers.join_all().await.into_iter().sum();
    println!(
        "writes resumed {resumed:?} after the leader was killed; {ambiguous} writes were not acknowledged"
    );
    assert!(
        resumed <= Duration::from_secs(3),
        "writes resumed only after {resumed:?}"
    );

    let listed = survivors[0].list("load/").await.expect("list");
    let present: BTreeSet<&str> = listed.items.iter().map(|kv| kv.key.as_str()).collect();
    let acks = acks.lock().expect("acks");
    let missing: Vec<&str> = acks
        .keys
        .iter()
        .map(|(_, k)| k.as_str())
        .filter(|k| !present.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarted_replica_catches_up_by_snapshot() {
    let mut cluster = RaftCluster::start(3, |c| {
        c.snapshot_after_logs = 100;
        c.logs_kept_after_snapshot = 10;
    })
    .await
    .expect("replica set");
    let leader_id = cluster.leader().await.expect("leader");
    let leader = cluster.node(leader_id).expect("leader running");
    leader
        .put("early", Bytes::from_static(b"1"), None)
        .await
        .expect("put");
    let lagging = cluster
        .running()
        .into_iter()
        .find(|id| *id != leader_id)
        .expect("a follower");
    let lag_node = cluster.node(lagging).expect("follower");
    eventually("follower has the early write", || async {
        lag_node
            .local_list("early")
            .map(|l| l.items.len() == 1)
            .unwrap_or(false)
    })
    .await;
    drop(lag_node);
    cluster.stop_node(lagging).await;

    // Far more entries than the leader keeps after a snapshot. Sequential puts, so that
    // group commit cannot fold them into fewer log entries.
    for i in 0..500 {
        let key = format!("later/{i}");
        leader
            .put(&key, Bytes::from(key.clone()), None)
            .await
            .expect("put");
    }
    let want = leader.list("").await.expect("list");
    assert_eq!(want.items.len(), 501);
    eventually(
        "the leader purged its log past the stopped replica",
        || async {
            leader
                .metrics()
                .borrow()
                .purged
                .map(|p| p.index)
                .unwrap_or(0)
                > 100
        },
    )
    .await;

    let restarted = cluster
        .start_node(lagging, StartMode::Existing)
        .await
        .expect("restart from its data dir");
    eventually("the restarted replica caught up", || async {
        restarted
            .local_list("")
            .map(|l| l.items == want.items)
            .unwrap_or(false)
    })
    .await;
    assert!(
        restarted.snapshots_installed() >= 1,
        "it fell behind the purge point, so it needed a snapshot"
    );
    assert_eq!(
        restarted.local_list("").expect("local").revision,
        want.revision
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_replica_restart_keeps_every_write() {
    let mut cluster = RaftCluster::start(1, |c| c.snapshot_after_logs = 50)
        .await
        .expect("replica");
    let node = cluster.node(1).expect("running");
    let lease = node
        .grant_lease(Duration::from_secs(60))
        .await
        .expect("lease");
    for i in 0..120 {
        node.put(&format!("k/{i:03}"), Bytes::from(format!("v{i}")), None)
            .await
            .expect("put");
    }
    node.put("leased", Bytes::from_static(b"l"), Some(lease))
        .await
        .expect("put");
    node.delete("k/000").await.expect("delete");
    let before = node.list("").await.expect("list");
    drop(node);
    cluster.stop_node(1).await;

    let node = cluster
        .start_node(1, StartMode::Existing)
        .await
        .expect("restart");
    cluster.leader().await.expect("leader again");
    let after = node.list("").await.expect("list");
    assert_eq!(
        after, before,
        "snapshot plus log replay restores keys and revision"
    );
    node.keep_alive(lease)
        .await
        .expect("the lease survived the restart");
    let next = node
        .put("k/new", Bytes::from_static(b"n"), None)
        .await
        .expect("put");
    assert_eq!(next, before.revision + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_data_dir_refuses_to_start() {
    let mut cluster = RaftCluster::start(3, |_| {}).await.expect("replica set");
    let victim = *cluster.running().last().expect("replica");
    cluster.stop_node(victim).await;
    std::fs::remove_dir_all(cluster.data_dir(victim)).expect("remove data dir");
    match cluster.start_node(victim, StartMode::Existing).await {
        Err(err @ RaftStoreError::DataDirMissing(_)) => {
            assert!(
                err.to_string()
                    .contains("refusing to start a replica empty"),
                "{err}"
            )
        }
        Err(other) => panic!("expected DataDirMissing, got {other}"),
        Ok(_) => panic!("a replica with no data dir must not start"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn corrupted_data_dir_refuses_to_start() {
    let mut cluster = RaftCluster::start(3, |_| {}).await.expect("replica set");
    let leader = cluster.leader().await.expect("leader");
    cluster
        .node(leader)
        .expect("leader")
        .put("k", Bytes::from_static(b"v"), None)
        .await
        .expect("put");
    let victims: Vec<_> = cluster
        .running()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    for id in &victims {
        cluster.stop_node(*id).await;
    }

    // One replica's file is overwritten with garbage, the other's cut short.
    let garbage = cluster.data_dir(victims[0]).join("raft.redb");
    let len = std::fs::metadata(&garbage).expect("db file").len() as usize;
    std::fs::write(&garbage, vec![0xA5u8; len]).expect("overwrite");
    let truncated = cluster.data_dir(victims[1]).join("raft.redb");
    let bytes = std::fs::read(&truncated).expect("db file");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("truncate");

    for id in victims {
        match cluster.start_node(id, StartMode::Existing).await {
            Err(err @ RaftStoreError::Corrupted { .. }) => println!("replica {id} refused: {err}"),
            Err(other) => panic!("replica {id}: expected Corrupted, got {other}"),
            Ok(_) => panic!("replica {id} started on a damaged data dir"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bootstrap_over_an_existing_store_refuses() {
    let mut cluster = RaftCluster::start(1, |_| {}).await.expect("replica");
    cluster.stop_node(1).await;
    match cluster.start_node(1, StartMode::Bootstrap).await {
        Err(RaftStoreError::AlreadyBootstrapped(_)) => {}
        Err(other) => panic!("expected AlreadyBootstrapped, got {other}"),
        Ok(_) => panic!("bootstrap must not reuse an existing store"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_behind_a_valid_header_is_corruption_not_a_crash() {
    let mut cluster = RaftCluster::start(1, |_| {}).await.expect("replica");
    let node = cluster.node(1).expect("running");
    for i in 0..50 {
        node.put(&format!("k/{i}"), Bytes::from(vec![7u8; 512]), None)
            .await
            .expect("put");
    }
    drop(node);
    cluster.stop_node(1).await;

    // Keep redb's header, wreck every page behind it.
    let path = cluster.data_dir(1).join("raft.redb");
    let mut bytes = std::fs::read(&path).expect("db file");
    bytes.iter_mut().skip(4096).for_each(|b| *b = 0xA5);
    std::fs::write(&path, &bytes).expect("overwrite pages");

    match cluster.start_node(1, StartMode::Existing).await {
        Err(err @ RaftStoreError::Corrupted { .. }) => println!("refused: {err}"),
        Err(other) => panic!("expected Corrupted, got {other}"),
        Ok(_) => panic!("a replica started on wrecked pages"),
    }
}
