//! `__export N`: one cluster's first export of N pods (and the sync scenario's services
//! and nodes) into a memory store, with nothing else running: a clean process to
//! profile the exporter in (`perf record clustermesh-bench __export 1000000`).

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use clustermesh_apiserver::{
    exporter::{Exporter, ExporterConfig},
    source::SourceState,
    store::memory::{MemoryStore, MemoryStoreConfig},
};
use clustermesh_proto::{Cluster, pb};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::mesh::workload;

pub fn run(pods: u32) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shape = crate::scenario::sync::shape(pods);
        let cluster = Cluster::try_from(pb::Cluster {
            name: "a".into(),
            id: 1,
            pod_cidrs: vec![shape.pod_cidr()],
            advertise_address: "127.0.0.1:1".into(),
        })
        .context("cluster record")?;
        let objects = Arc::new(workload::objects("a", shape));
        let store = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
        let (source, source_rx) = watch::channel(SourceState::default());
        let (exporter, mut status) = Exporter::new(store, ExporterConfig::new(cluster), source_rx);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(exporter.run(shutdown.clone()));
        let before = crate::machine::ProcessCpu::now();
        let rss_before = resident_mib();
        let started = tokio::time::Instant::now();
        source.send_replace(SourceState {
            objects,
            errors: Vec::new(),
            generation: 1,
        });
        tokio::time::timeout(
            Duration::from_secs(600),
            status.wait_for(|s| s.source_generation == 1 && s.synced),
        )
        .await
        .context("the export did not finish in 10 minutes")??;
        let cpu = crate::machine::ProcessCpu::now().since(before);
        println!(
            "exported {pods} pods in {} ms (CPU {:.1} s user, {:.1} s system, {} minor faults; resident {} -> {} MiB)",
            started.elapsed().as_millis(),
            cpu.user_s,
            cpu.system_s,
            cpu.minor_faults,
            rss_before,
            resident_mib(),
        );
        shutdown.cancel();
        task.await?;
        Ok(())
    })
}

/// This process's resident memory, from /proc/self/statm (pages of 4 KiB).
fn resident_mib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1 << 20))
}
