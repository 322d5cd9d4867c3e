//! The drill's result as data: what `-o json` prints (stable snake_case fields, every
//! one documented in docs/cli.md) and what the table and the SVG are drawn from. Built
//! by [`build`] from the collected reports alone, so it is tested without a network.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    FaultKind,
    timeline::{self, Accounting, BUCKET_MS, Bucket, Figures, Marks, Series},
};
use crate::duration::format_duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DrillReport {
    /// The faulted cluster's context and cluster name.
    pub context: String,
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub fault: FaultKind,
    pub fault_id: u64,
    pub fault_ttl_ms: u64,
    pub rate_per_second: u32,
    /// `--duration`: the longest wait for recovery, and for failback.
    pub duration_ms: u64,
    /// How long recovery had to hold before the fault was restored.
    pub stable_ms: u64,
    pub bucket_ms: u64,
    pub started_unix_ms: i64,
    pub fault_unix_ms: i64,
    pub restore_unix_ms: i64,
    pub stopped_unix_ms: i64,
    /// Relative to the fault: the baseline's start (negative), the restore, the stop.
    pub started_ms: i64,
    pub restore_ms: i64,
    pub stopped_ms: i64,
    pub recovered: bool,
    pub failed_back: bool,
    /// The headline figures, over every probing cluster (see docs/cli.md, "Figures").
    pub rto_ms: Option<i64>,
    pub first_served_elsewhere_ms: Option<i64>,
    pub last_failure_ms: Option<i64>,
    pub failback_ms: Option<i64>,
    pub verdict: String,
    pub probes: ProbeTotals,
    pub probers: Vec<ProberReport>,
    pub skipped: Vec<SkippedReport>,
    pub warnings: Vec<String>,
    pub timeline: Vec<BucketReport>,
    /// Where the SVG timeline was written, with `--svg`.
    pub svg: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProbeTotals {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    pub failed_before_fault: u64,
    pub failed_during_fault: u64,
    pub failed_after_restore: u64,
    pub unreported: u64,
    pub duplicates: u64,
    /// `sent == ok + failed` and every `seq` below `sent` reported exactly once.
    pub accounted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProberReport {
    pub context: String,
    pub cluster: String,
    /// The node whose agent probed.
    pub node: String,
    pub probes: ProbeTotals,
    pub recovered: bool,
    pub rto_ms: Option<i64>,
    pub first_served_elsewhere_ms: Option<i64>,
    pub last_failure_ms: Option<i64>,
    pub failback_ms: Option<i64>,
    /// Failed probes by error message.
    pub errors: BTreeMap<String, u64>,
}

/// A context of the config that did not probe, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedReport {
    pub context: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Baseline,
    Fault,
    Restored,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketReport {
    /// Start of the bucket relative to the fault; it lasts `bucket_ms`.
    pub t_ms: i64,
    pub phase: Phase,
    pub probes_ok: u64,
    pub probes_failed: u64,
    /// New connections per serving cluster (fractional: see docs/cli.md).
    pub connections: BTreeMap<String, f64>,
    /// Each serving cluster's fraction of the successful probes; `{}` when none
    /// could be attributed.
    pub share: BTreeMap<String, f64>,
}

/// One probing cluster's collected run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProberData {
    pub context: String,
    pub cluster: String,
    pub node: String,
    pub series: Series,
}

/// What the drill was and when it did what: everything [`build`] needs besides the
/// probes.
#[derive(Debug, Clone, PartialEq)]
pub struct Drill {
    pub context: String,
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub fault: FaultKind,
    pub fault_id: u64,
    pub fault_ttl_ms: u64,
    pub rate_per_second: u32,
    pub duration_ms: u64,
    pub stable_ms: u64,
    /// `restore_ms` is always set: a drill always restores.
    pub marks: Marks,
    pub skipped: Vec<SkippedReport>,
    /// Found while collecting (clock skew, ...).
    pub warnings: Vec<String>,
}

fn totals(accounting: &Accounting, figures: &Figures) -> ProbeTotals {
    ProbeTotals {
        sent: accounting.sent,
        ok: accounting.ok,
        failed: accounting.failed,
        failed_before_fault: figures.failed_before_fault,
        failed_during_fault: figures.failed_during_fault,
        failed_after_restore: figures.failed_after_restore,
        unreported: accounting.unreported,
        duplicates: accounting.duplicates,
        accounted: accounting.complete(),
    }
}

/// Rounded so the JSON shows what matters, not float noise.
fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

pub fn build(drill: &Drill, probers: &[ProberData]) -> DrillReport {
    let marks = drill.marks;
    let target = drill.cluster.as_str();
    let stable = drill.stable_ms as i64;
    let per_prober: Vec<Vec<Bucket>> = probers
        .iter()
        .map(|p| timeline::buckets(&p.series, &marks))
        .collect();
    let merged = timeline::merge(&per_prober);
    // Each prober's fault is judged up to its last sample before the restore, the
    // merged one up to the earliest of those.
    let judged = |p: &ProberData| Marks {
        judged_until_ms: marks
            .restore_ms
            .and_then(|r| timeline::judged_until(&p.series, r)),
        ..marks
    };
    let merged_marks = Marks {
        judged_until_ms: probers
            .iter()
            .filter_map(|p| judged(p).judged_until_ms)
            .min(),
        ..marks
    };
    let all_probes = probers.iter().flat_map(|p| &p.series.probes);
    let figures = timeline::figures(&merged, all_probes, &merged_marks, target, stable);
    let mut total = Accounting::default();
    let mut warnings = drill.warnings.clone();
    let prober_reports: Vec<ProberReport> = probers
        .iter()
        .zip(&per_prober)
        .map(|(p, buckets)| {
            let f = timeline::figures(buckets, &p.series.probes, &judged(p), target, stable);
            let accounting = timeline::account(&p.series.probes, marks.end_ms);
            total.add(&accounting);
            if accounting.unreported > 0 {
                warnings.push(format!(
                    "{}: {} of {} probes were never reported",
                    p.cluster, accounting.unreported, accounting.sent
                ));
            }
            if accounting.duplicates > 0 {
                warnings.push(format!(
                    "{}: {} probes were reported more than once",
                    p.cluster, accounting.duplicates
                ));
            }
            let mut errors = BTreeMap::new();
            for probe in p.series.probes.iter().filter(|p| !p.ok) {
                *errors.entry(probe.error.clone()).or_default() += 1;
            }
            ProberReport {
                context: p.context.clone(),
                cluster: p.cluster.clone(),
                node: p.node.clone(),
                probes: totals(&accounting, &f),
                recovered: f.recovered,
                rto_ms: f.rto_ms.filter(|_| f.recovered),
                first_served_elsewhere_ms: f.first_served_elsewhere_ms,
                last_failure_ms: f.last_failure_ms,
                failback_ms: f.failback_ms,
                errors,
            }
        })
        .collect();
    let restore = marks.restore_rel().unwrap_or(i64::MAX);
    let timeline: Vec<BucketReport> = merged
        .iter()
        .map(|b| BucketReport {
            t_ms: b.t_ms,
            phase: match b.t_ms {
                t if t < 0 => Phase::Baseline,
                t if t >= restore => Phase::Restored,
                _ => Phase::Fault,
            },
            probes_ok: b.ok,
            probes_failed: b.failed,
            connections: b
                .connections
                .iter()
                .map(|(c, n)| (c.clone(), round(*n, 2)))
                .collect(),
            share: b
                .share()
                .into_iter()
                .map(|(c, s)| (c, round(s, 3)))
                .collect(),
        })
        .collect();
    if !merged.iter().any(|b| b.t_ms < 0 && b.reaches(target)) {
        warnings.push(format!(
            "no connection went to {target}'s backends before the fault: this drill shows no failover"
        ));
    }
    if figures.failed_before_fault > 0 {
        warnings.push(format!(
            "{} probes failed before the fault: the baseline was not healthy",
            figures.failed_before_fault
        ));
    }
    let failed_back = figures.failback_ms.is_some();
    let verdict = verdict(drill, &merged_marks, &figures, &merged);
    let rel = |unix: i64| unix - marks.fault_ms;
    DrillReport {
        context: drill.context.clone(),
        cluster: drill.cluster.clone(),
        namespace: drill.namespace.clone(),
        name: drill.name.clone(),
        fault: drill.fault,
        fault_id: drill.fault_id,
        fault_ttl_ms: drill.fault_ttl_ms,
        rate_per_second: drill.rate_per_second,
        duration_ms: drill.duration_ms,
        stable_ms: drill.stable_ms,
        bucket_ms: BUCKET_MS as u64,
        started_unix_ms: marks.start_ms,
        fault_unix_ms: marks.fault_ms,
        restore_unix_ms: marks.restore_ms.unwrap_or(marks.end_ms),
        stopped_unix_ms: marks.end_ms,
        started_ms: rel(marks.start_ms),
        restore_ms: rel(marks.restore_ms.unwrap_or(marks.end_ms)),
        stopped_ms: rel(marks.end_ms),
        recovered: figures.recovered,
        failed_back,
        rto_ms: figures.rto_ms.filter(|_| figures.recovered),
        first_served_elsewhere_ms: figures.first_served_elsewhere_ms,
        last_failure_ms: figures.last_failure_ms,
        failback_ms: figures.failback_ms,
        verdict,
        probes: totals(&total, &figures),
        probers: prober_reports,
        skipped: drill.skipped.clone(),
        warnings,
        timeline,
        svg: None,
    }
}

fn ms(value: i64) -> String {
    format_duration(std::time::Duration::from_millis(value.max(0) as u64))
}

fn verdict(drill: &Drill, marks: &Marks, figures: &Figures, merged: &[Bucket]) -> String {
    let target = drill.cluster.as_str();
    let limit = ms(drill.duration_ms as i64);
    if !figures.recovered {
        let restore = marks
            .judged_until_ms
            .or(marks.restore_ms)
            .map_or(i64::MAX, |r| r - marks.fault_ms);
        let tail_from = restore - drill.stable_ms as i64;
        let tail: Vec<&Bucket> = merged
            .iter()
            .filter(|b| b.t_ms >= tail_from.max(0) && b.t_ms + BUCKET_MS <= restore)
            .collect();
        let why = if tail.iter().any(|b| b.failed > 0) {
            "probes were still failing".to_owned()
        } else if tail.iter().any(|b| b.reaches(target)) {
            format!("connections still went to {target}")
        } else if tail.iter().all(|b| b.ok == 0) {
            "no probe succeeded".to_owned()
        } else {
            format!("it did not hold for {}", ms(drill.stable_ms as i64))
        };
        return format!("did not recover within {limit}: {why}");
    }
    let rto = ms(figures.rto_ms.unwrap_or_default());
    match figures.failback_ms {
        Some(back) => format!(
            "recovered {rto} after the fault; failed back {} after the restore",
            ms(back)
        ),
        None => format!(
            "recovered {rto} after the fault, but traffic did not return to {target} within {limit} of the restore"
        ),
    }
}
