//! **sync**: cluster a exports N endpoints (100k, then 1M) with their identities, 1,000
//! global services and 250 nodes; the clock runs from the source publishing that state
//! until a node agent of connected cluster b holds every one of them in its merged view
//! (source → a's export → a's store → b's import → b's store → b's `Mesh.Watch` → the
//! agent's view). Both apiservers run in this process on the embedded raft store (the
//! default; one replica, every write fsynced), over mTLS on loopback.
//!
//! Baseline, same run: the same records (a's store's keys and values, byte for byte)
//! through two real etcd servers the way KVStoreMesh moves them (`kvstoremesh.rs`).
//! Targets: 1M in ≤ 5 s, and ≥ 3× faster than the baseline.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use clustermesh_apiserver::source::ClusterObjects;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{
    kvstoremesh::{KvStoreMesh, Op, write_all},
    machine::ProcessCpu,
    mesh::{AgentView, MeshCluster, StoreKind, connect, connect::client_config, workload},
    record::{Baseline, Ratio, Record, Target},
};

const SIZES: [u32; 2] = [100_000, 1_000_000];
const SERVICES: u32 = 1_000;
const NODES: u32 = 250;
const WAIT: Duration = Duration::from_secs(600);

struct Row {
    endpoints: u32,
    records: usize,
    /// Source publish → a's export round written.
    exported: Duration,
    /// Source publish → b's agent holds everything.
    total: Duration,
    /// What this process (both apiservers and the agent's view) spent meanwhile.
    cpu: ProcessCpu,
    baseline: Duration,
}

pub fn run() -> anyhow::Result<Record> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut rows = Vec::new();
    let sizes = crate::knobs::counts("CLUSTERMESH_BENCH_SYNC_SIZES", &SIZES)?;
    let store = crate::knobs::store()?;
    for endpoints in sizes {
        let row = runtime.block_on(measure(endpoints, store))?;
        eprintln!(
            "sync {endpoints} endpoints ({} records): clustermesh {} ms (exported after {} ms), kvstoremesh {} ms",
            row.records,
            row.total.as_millis(),
            row.exported.as_millis(),
            row.baseline.as_millis()
        );
        rows.push(row);
    }
    Ok(record(&rows, store))
}

pub fn shape(endpoints: u32) -> workload::Shape {
    workload::Shape {
        cluster_index: 1,
        nodes: NODES,
        pods: endpoints,
        services: SERVICES,
        backends: workload::SLICE_MAX,
    }
}

async fn measure(endpoints: u32, store: StoreKind) -> anyhow::Result<Row> {
    let shape = shape(endpoints);
    let empty_b = workload::Shape {
        cluster_index: 2,
        nodes: 1,
        pods: 0,
        services: 0,
        backends: 0,
    };
    let mut a =
        MeshCluster::start("a", 1, &shape.pod_cidr(), store, ClusterObjects::default()).await?;
    let b = MeshCluster::start(
        "b",
        2,
        &empty_b.pod_cidr(),
        store,
        workload::objects("b", empty_b),
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let config = client_config(&[&a, &b], dir.path())?;
    connect(&config, &a, &b).await?;
    let mut agent = AgentView::start(&b, "b-node0").await?;
    agent
        .wait_for(WAIT, "the agent's first snapshot", |v| v.is_initialized())
        .await?;

    let objects = Arc::new(workload::objects("a", shape));
    let records = shape.record_count();
    let cpu_before = ProcessCpu::now();
    let started = Instant::now();
    a.publish(objects);
    let generation = a.export.borrow().source_generation + 1;
    let mut export = a.export.clone();
    let exported = tokio::time::timeout(
        WAIT,
        export.wait_for(|s| s.source_generation >= generation && s.last_error.is_none()),
    )
    .await
    .context("a's export round")?
    .context("a's exporter stopped")
    .map(|_| started.elapsed())?;
    let services = SERVICES as usize;
    let progress = tokio::spawn(report_progress(
        started,
        a.store.clone(),
        b.peers.clone(),
        agent.view.clone(),
    ));
    let held = agent
        .wait_for(WAIT, "b's agent holding a's export", |v| {
            v.endpoint_count() == endpoints as usize
                && v.identities().count() == services
                && v.services().count() == services
        })
        .await;
    progress.abort();
    held?;
    let total = started.elapsed();
    let cpu = ProcessCpu::now().since(cpu_before);
    eprintln!(
        "  clustermesh: {} ms (CPU {:.1} s user, {:.1} s system, {} minor faults); now the baseline",
        total.as_millis(),
        cpu.user_s,
        cpu.system_s,
        cpu.minor_faults
    );
    agent.stop().await?;

    let exported_kvs = a.store.list("a/").await.context("listing a's export")?;
    let ops: Vec<Op> = exported_kvs
        .items
        .into_iter()
        .filter(|kv| clustermesh_apiserver::layout::decode_record(&kv.key, &kv.value).is_ok())
        .map(|kv| Op::Put(kv.key, kv.value.to_vec()))
        .collect();
    anyhow::ensure!(
        ops.len() == records,
        "a's store holds {} records, expected {records}",
        ops.len()
    );
    a.stop().await?;
    b.stop().await?;
    let baseline = kvstoremesh(ops).await?;
    Ok(Row {
        endpoints,
        records,
        exported,
        total,
        cpu,
        baseline,
    })
}

/// Every second until aborted: how far each stage of the path has come, so a slow run
/// shows where it waits.
async fn report_progress(
    started: Instant,
    a: Arc<dyn clustermesh_apiserver::store::Store>,
    b: Arc<clustermesh_apiserver::import::PeerRegistry>,
    agent: tokio::sync::watch::Receiver<node_agent::MergedView>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let a_revision = a
            .list("~meta/revision-probe/")
            .await
            .map_or(-1, |l| l.revision);
        let imported: u64 = b.statuses().iter().map(|(_, s)| s.events).sum();
        let viewed = agent.borrow().endpoint_count();
        eprintln!(
            "  {:>6} ms: a's store at revision {a_revision}, b imported {imported} events, b's agent holds {viewed} endpoints",
            started.elapsed().as_millis()
        );
    }
}

/// The same records through etcd 1 → copier → etcd 2 → agent.
async fn kvstoremesh(ops: Vec<Op>) -> anyhow::Result<Duration> {
    let total = ops.len();
    let mut mesh = KvStoreMesh::start("a/").await?;
    let started = Instant::now();
    let writer = mesh.writer.clone();
    let writing = tokio::spawn(async move { write_all(&writer, ops).await });
    let mut seen = std::collections::HashSet::with_capacity(total);
    let deadline = started + WAIT;
    while seen.len() < total {
        let batch = mesh
            .next_seen(deadline)
            .await?
            .context("kvstoremesh: the agent did not see every record in time")?;
        seen.extend(batch.keys);
    }
    let elapsed = started.elapsed();
    writing.await??;
    mesh.stop();
    Ok(elapsed)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

fn record(rows: &[Row], store: StoreKind) -> Record {
    let mut record = Record::new(
        "sync",
        json!({
            "endpoints": SIZES,
            "global_services": SERVICES,
            "identities": SERVICES,
            "nodes": NODES,
            "store": store.name(),
            "apiservers": "two, in this process, mTLS on loopback",
        }),
    );
    let figures = |f: &dyn Fn(&Row) -> Value| -> Value {
        rows.iter()
            .map(|r| (r.endpoints.to_string(), f(r)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    record.figures = figures(&|r| {
        json!({"records": r.records, "total_ms": ms(r.total), "exported_ms": ms(r.exported),
               "records_per_s": (r.records as f64 / r.total.as_secs_f64()).round(),
               "cpu_user_s": r.cpu.user_s, "cpu_system_s": r.cpu.system_s,
               "minor_faults": r.cpu.minor_faults})
    });
    record.baseline = Some(Baseline {
        name: "KVStoreMesh path: etcd 1 -> watcher copying into etcd 2 -> watcher (agent) decoding values; txns of 128, 16 in flight".into(),
        figures: figures(&|r| {
            json!({"total_ms": ms(r.baseline),
                   "records_per_s": (r.records as f64 / r.baseline.as_secs_f64()).round()})
        }),
    });
    for r in rows {
        let speedup = r.baseline.as_secs_f64() / r.total.as_secs_f64();
        record.ratios.push(Ratio {
            name: format!("baseline / clustermesh time, {} endpoints", r.endpoints),
            value: speedup,
        });
        record.summary_lines.push(format!(
            "{:>9} endpoints: clustermesh {:>8.1} ms (a exported at {:.1} ms; CPU {:.1} s user, {:.1} s system), kvstoremesh {:>8.1} ms",
            r.endpoints,
            ms(r.total),
            ms(r.exported),
            r.cpu.user_s,
            r.cpu.system_s,
            ms(r.baseline)
        ));
        if r.endpoints == 1_000_000 {
            record.targets.push(Target::at_most(
                "1M endpoints into a remote agent's view",
                Some(ms(r.total)),
                5000.0,
                "ms",
            ));
            record.targets.push(Target::at_least(
                "speedup over the KVStoreMesh path, 1M",
                Some((speedup * 100.0).round() / 100.0),
                3.0,
                "",
            ));
        }
    }
    record
}
