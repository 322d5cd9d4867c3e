//! **propagation**: 10 clusters, fully connected with `ctl`'s connect, 10,000 endpoints
//! each (100k in all). Cluster c1's pods change address at a steady rate (each change
//! moves one pod, so one endpoint goes and another comes); the lag is from c1's source
//! publishing a change until the new endpoint is in the merged view of an agent in c2.
//! First 1,000 changes/s for 10 s (p50/p99/max), then the rate is raised until the lag
//! is no longer bounded (a change not visible within 1 s).
//!
//! Baseline, same run: the same changes as etcd transactions (delete the old key, put
//! the new one) through the KVStoreMesh path of `kvstoremesh.rs`, one path c1 → c2.
//! Targets: p99 ≤ 50 ms at 1,000 changes/s; ≥ 20,000 changes/s sustained.

mod baseline;
mod mesh;
mod window;

use serde_json::json;

use crate::{
    record::{Baseline, Ratio, Record, Target},
    stats::Summary,
};

pub use window::Window;

const CLUSTERS: u32 = 10;
const ENDPOINTS_PER_CLUSTER: u32 = 10_000;
const SERVICES_PER_CLUSTER: u32 = 100;
/// The steady rate, and how long it runs.
const STEADY: (u32, u64) = (1_000, 10);
/// Raised rates, each for this many seconds, until one is not sustained.
const RAMP: [u32; 5] = [2_000, 5_000, 10_000, 20_000, 40_000];
const RAMP_SECONDS: u64 = 5;
/// A change not visible within this long means the lag is no longer bounded.
pub const BOUND_MS: f64 = 1_000.0;

pub fn run() -> anyhow::Result<Record> {
    let runtime = tokio::runtime::Runtime::new()?;
    let ours = runtime.block_on(mesh::measure())?;
    let theirs = runtime.block_on(baseline::measure())?;
    Ok(record(&ours, &theirs))
}

/// The windows to run, steady first.
pub fn schedule() -> Vec<(u32, u64)> {
    std::iter::once(STEADY)
        .chain(RAMP.iter().map(|&r| (r, RAMP_SECONDS)))
        .collect()
}

/// Notes a finished window; whether the ramp goes on (it was sustained).
pub fn keep_going(windows: &mut Vec<Window>, window: Window) -> bool {
    eprintln!("  {}", window.describe());
    let sustained = window.sustained();
    windows.push(window);
    sustained
}

fn summary(windows: &[Window]) -> serde_json::Value {
    json!(windows.iter().map(Window::json).collect::<Vec<_>>())
}

fn steady(windows: &[Window]) -> Option<Summary> {
    windows.first().and_then(|w| Summary::of(&w.lags_ms))
}

fn max_sustained(windows: &[Window]) -> Option<u32> {
    windows
        .iter()
        .filter(|w| w.sustained())
        .map(|w| w.rate)
        .max()
}

fn record(ours: &[Window], theirs: &[Window]) -> Record {
    let mut record = Record::new(
        "propagation",
        json!({
            "clusters": CLUSTERS,
            "endpoints": CLUSTERS * ENDPOINTS_PER_CLUSTER,
            "global_services": CLUSTERS * SERVICES_PER_CLUSTER,
            "steady_rate_per_s": STEADY.0,
            "steady_seconds": STEADY.1,
            "ramp_rates_per_s": RAMP,
            "ramp_seconds": RAMP_SECONDS,
            "bounded_means_every_change_visible_within_ms": BOUND_MS,
            "store": "raft (1 replica, on disk), every cluster",
            "topology": "full mesh (each cluster imports the 9 others), all in this process",
        }),
    );
    record.figures = summary(ours);
    record.baseline = Some(Baseline {
        name: "KVStoreMesh path c1 -> c2: etcd 1 -> copier -> etcd 2 -> watcher (agent)".into(),
        figures: summary(theirs),
    });
    for (who, windows) in [("clustermesh", ours), ("kvstoremesh", theirs)] {
        record.summary_lines.push(format!("{who}:"));
        record
            .summary_lines
            .extend(windows.iter().map(|w| format!("  {}", w.describe())));
    }
    let (ours_steady, theirs_steady) = (steady(ours), steady(theirs));
    if let (Some(o), Some(t)) = (ours_steady, theirs_steady) {
        record.ratios.push(Ratio {
            name: "baseline / clustermesh p99 lag at 1,000 changes/s".into(),
            value: t.p99 / o.p99.max(0.001),
        });
    }
    let (ours_max, theirs_max) = (max_sustained(ours), max_sustained(theirs));
    if let (Some(o), Some(t)) = (ours_max, theirs_max) {
        record.ratios.push(Ratio {
            name: "clustermesh / baseline highest sustained rate".into(),
            value: f64::from(o) / f64::from(t),
        });
    }
    record.targets.push(Target::at_most(
        "p99 lag at 1,000 changes/s",
        ours_steady.map(|s| s.p99),
        50.0,
        "ms",
    ));
    record.targets.push(Target::at_least(
        "highest sustained rate",
        ours_max.map(f64::from),
        20_000.0,
        "changes/s",
    ));
    record.notes.push(
        "clustermesh runs all 10 apiservers (9 of them importing c1) and the agent on this \
         machine's 2 cores; the baseline moves c1's changes to one cluster only"
            .into(),
    );
    record
}
