//! Time from a manifest change in one cluster to the change being in a peer's store:
//! the whole path of source (file watch and debounce), export, the peer stream and
//! import. Two in-process apiservers over mTLS on loopback, each with a realistic
//! cluster (see `workload.rs`), 200 changes, one at a time.
//!
//! `cargo bench -p clustermesh-apiserver --bench sync_latency`

#[path = "../tests/support/mod.rs"]
mod support;
#[path = "sync_latency/workload.rs"]
mod workload;

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use std::sync::Arc;

use clustermesh_apiserver::{
    layout,
    store::{Event, Store, testing::RaftCluster},
};
use clustermesh_proto::{Record, RecordKind, SyncedKey};
use futures::StreamExt;
use hdrhistogram::Histogram;
use support::{TestCluster, connect, within};

const CHANGES: u32 = 200;
const WAIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sync_latency: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for backend in ["memory", "raft-3"] {
        if filter.as_deref().is_some_and(|f| !backend.contains(f)) {
            continue;
        }
        if let Err(e) = runtime.block_on(run(backend)) {
            eprintln!("sync_latency {backend}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// A store for one cluster, and whatever keeps it running.
async fn store(backend: &str) -> Result<(Arc<dyn Store>, Option<RaftCluster>), String> {
    match backend {
        "memory" => Ok((support::fresh_store(), None)),
        _ => {
            let replicas = RaftCluster::start(3, |_| {}).await?;
            let leader = replicas.leader().await?;
            let node = replicas.node(leader).ok_or("leader not running")?;
            Ok((node, Some(replicas)))
        }
    }
}

fn write_cluster(cluster: &TestCluster) {
    let name = cluster.name.as_str();
    cluster.write_manifest("cluster.yaml", &workload::nodes(name, cluster.id));
    for s in 0..workload::SERVICES {
        let file = format!("svc{s}.yaml");
        cluster.write_manifest(&file, &workload::service(name, cluster.id, s, false));
    }
}

async fn run(backend: &str) -> Result<(), String> {
    let (store_a, _keep_a) = store(backend).await?;
    let (store_b, _keep_b) = store(backend).await?;
    let a = TestCluster::start_on("a", 1, store_a).await;
    let b = TestCluster::start_on("b", 2, store_b).await;
    write_cluster(&a);
    write_cluster(&b);
    a.wait_synced().await;
    b.wait_synced().await;
    let setup = Instant::now();
    connect(&a, &b).await.expect("connect");
    let expected = workload::record_count() as usize;
    within(WAIT, "b holds a's full export", || async {
        b.has_key(&SyncedKey::new(support::name("a"), RecordKind::GlobalService).to_string())
            .await
            && b.records_of("a").await.len() == expected
    })
    .await;
    println!(
        "[{backend}] initial sync: {expected} records per cluster; b held all of a's {:?} after connecting",
        setup.elapsed()
    );

    let mut histogram = Histogram::<u64>::new(3).expect("histogram");
    for change in 0..CHANGES {
        let s = change % workload::SERVICES;
        let not_ready = (change / workload::SERVICES).is_multiple_of(2);
        let key = format!("a/services/bench/svc{s}");
        let revision = b.store.list("~").await.expect("revision").revision;
        let mut watch = b.store.watch(&key, revision).await.expect("watch");
        let started = Instant::now();
        a.write_manifest(
            &format!("svc{s}.yaml"),
            &workload::service("a", 1, s, not_ready),
        );
        tokio::time::timeout(WAIT, async {
            while let Some(Ok(response)) = watch.next().await {
                for event in response.events.iter() {
                    if let Event::Put(kv) = event
                        && let Ok(Record::GlobalService(service)) =
                            layout::decode_record(&kv.key, &kv.value)
                        && service
                            .backends
                            .first()
                            .is_some_and(|b| b.ready != not_ready)
                    {
                        return;
                    }
                }
            }
        })
        .await
        .expect("the change reaches b");
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        histogram.record(micros).expect("record");
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "[{backend}] manifest change -> peer store over {CHANGES} changes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(0.5),
        ms(0.99),
        histogram.max() as f64 / 1000.0
    );
    Ok(())
}
