//! The recovery figures of a timeline (docs/cli.md, "Figures").

use super::{BUCKET_MS, Bucket, Marks, Probe};

/// What the drill measured; every time is relative to the fault, except `failback_ms`
/// and `returned_ms` (relative to the restore). See docs/cli.md, "Figures".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// The first bucket after the fault whose successful probes were all served by
    /// clusters other than the target.
    pub first_served_elsewhere_ms: Option<i64>,
    /// The start of the last probe that failed during the fault.
    pub last_failure_ms: Option<i64>,
    /// The first bucket served elsewhere from which every bucket up to the restore
    /// (or the data's end) is clean: no failure, no connection to the target.
    pub rto_ms: Option<i64>,
    /// How long that clean run lasted.
    pub clean_for_ms: i64,
    /// `rto_ms` is set and the clean run lasted at least the stable time.
    pub recovered: bool,
    /// The first bucket overlapping the time after the restore with a connection to
    /// the target, relative to the restore (0 when that bucket began before it).
    pub returned_ms: Option<i64>,
    /// `returned_ms`, when the drill had recovered; otherwise there was nothing to fail
    /// back from.
    pub failback_ms: Option<i64>,
    pub failed_before_fault: u64,
    pub failed_during_fault: u64,
    pub failed_after_restore: u64,
}

/// The figures of `buckets` (one prober's or merged) and the probes behind them.
pub fn figures<'a>(
    buckets: &[Bucket],
    probes: impl IntoIterator<Item = &'a Probe>,
    marks: &Marks,
    target: &str,
    stable_ms: i64,
) -> Figures {
    let end = marks.rel(marks.end_ms);
    let restore = marks.restore_rel();
    let judged = marks.judged_until_ms.map_or(i64::MAX, |j| marks.rel(j));
    let window_end = restore.unwrap_or(end).min(end).min(judged);
    let window: Vec<&Bucket> = buckets
        .iter()
        .filter(|b| b.t_ms >= 0 && b.t_ms + BUCKET_MS <= window_end)
        .collect();
    let first_served_elsewhere_ms = window
        .iter()
        .find(|b| b.served_elsewhere(target))
        .map(|b| b.t_ms);
    let after_last_bad = window
        .iter()
        .rposition(|b| !b.clean(target))
        .map_or(0, |i| i + 1);
    let rto_ms = window[after_last_bad..]
        .iter()
        .find(|b| b.served_elsewhere(target))
        .map(|b| b.t_ms);
    let clean_for_ms = match (rto_ms, window.last()) {
        (Some(rto), Some(last)) => last.t_ms + BUCKET_MS - rto,
        _ => 0,
    };
    let recovered = rto_ms.is_some() && clean_for_ms >= stable_ms;
    let returned_ms = restore.and_then(|restore| {
        buckets
            .iter()
            .filter(|b| b.t_ms + BUCKET_MS > restore && b.t_ms < end)
            .find(|b| b.reaches(target))
            .map(|b| (b.t_ms - restore).max(0))
    });
    let mut figures = Figures {
        first_served_elsewhere_ms,
        rto_ms,
        clean_for_ms,
        recovered,
        returned_ms,
        failback_ms: returned_ms.filter(|_| recovered),
        ..Figures::default()
    };
    for probe in probes {
        let at = marks.rel(probe.started_ms);
        if probe.ok || probe.started_ms >= marks.end_ms {
            continue;
        }
        if at < 0 {
            figures.failed_before_fault += 1;
        } else if restore.is_some_and(|r| at >= r) {
            figures.failed_after_restore += 1;
        } else {
            figures.failed_during_fault += 1;
            figures.last_failure_ms = figures.last_failure_ms.max(Some(at));
        }
    }
    figures
}
