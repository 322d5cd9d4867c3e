//! The drill's arithmetic, pure: probe results and load-balancer counter samples in,
//! 100 ms buckets and the recovery figures out. No clock and no I/O here, so every
//! definition in docs/cli.md ("Figures") is pinned by a test with hand-built reports.
//!
//! Time is unix milliseconds in the input and milliseconds relative to the fault in the
//! output. Buckets are aligned to the fault, so no bucket straddles it: bucket `t`
//! covers `[fault + t, fault + t + 100)`.

mod accounting;
mod figures;

use std::collections::BTreeMap;

pub use self::{
    accounting::{Accounting, Settled, account},
    figures::{Figures, figures},
};

/// The resolution of the timeline, and of every figure derived from it.
pub const BUCKET_MS: i64 = 100;

/// One probe as its agent reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub seq: u64,
    pub started_ms: i64,
    pub ok: bool,
    pub error: String,
}

/// The load balancer's cumulative new-connection counters, per serving cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub at_ms: i64,
    pub connections: BTreeMap<String, u64>,
}

/// Everything one probing cluster reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Series {
    pub probes: Vec<Probe>,
    pub samples: Vec<Sample>,
}

/// When the drill did what, in unix ms (ctl's clock). `end_ms` bounds the data: probes
/// started at or after it are outside the drill, and so is the rest of that bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    pub start_ms: i64,
    pub fault_ms: i64,
    pub restore_ms: Option<i64>,
    pub end_ms: i64,
    /// Where the fault's window is judged to end, when before the restore: the last
    /// counter sample before it ([`judged_until`]).
    pub judged_until_ms: Option<i64>,
}

impl Marks {
    fn rel(&self, unix_ms: i64) -> i64 {
        unix_ms - self.fault_ms
    }

    /// The restore relative to the fault.
    pub fn restore_rel(&self) -> Option<i64> {
        self.restore_ms.map(|r| self.rel(r))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Start, relative to the fault.
    pub t_ms: i64,
    /// Probes started in this bucket, by outcome.
    pub ok: u64,
    pub failed: u64,
    /// New connections per serving cluster. A counter delta is spread evenly over the
    /// interval between its two samples, so these are fractional.
    pub connections: BTreeMap<String, f64>,
    /// Successful probes per serving cluster: each probing cluster's `ok` split by its
    /// own connection deltas in this bucket, then summed over the probing clusters.
    pub served: BTreeMap<String, f64>,
}

impl Bucket {
    /// Each cluster's fraction of the successful probes that could be attributed; empty
    /// when none could (no probe succeeded, or no counter moved).
    pub fn share(&self) -> BTreeMap<String, f64> {
        share_of(&self.served)
    }

    pub fn reaches(&self, target: &str) -> bool {
        self.connections.get(target).is_some_and(|c| *c > 0.0)
    }

    /// Successful probes, and connections only to clusters other than `target`.
    pub fn served_elsewhere(&self, target: &str) -> bool {
        self.ok > 0
            && !self.reaches(target)
            && self
                .connections
                .iter()
                .any(|(cluster, c)| cluster != target && *c > 0.0)
    }

    /// No failed probe and no connection to `target`.
    pub fn clean(&self, target: &str) -> bool {
        self.failed == 0 && !self.reaches(target)
    }

    fn add(&mut self, other: &Bucket) {
        self.ok += other.ok;
        self.failed += other.failed;
        for (c, n) in &other.connections {
            *self.connections.entry(c.clone()).or_default() += n;
        }
        for (c, n) in &other.served {
            *self.served.entry(c.clone()).or_default() += n;
        }
    }
}

/// Normalises `served` to fractions summing to 1; empty when nothing was served.
pub fn share_of(served: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let total: f64 = served.values().sum();
    if total <= 0.0 {
        return BTreeMap::new();
    }
    served
        .iter()
        .filter(|(_, n)| **n > 0.0)
        .map(|(c, n)| (c.clone(), n / total))
        .collect()
}

/// The bucket grid from `start_ms` to `end_ms`: the first bucket's index relative to
/// the fault, and how many there are.
fn grid(marks: &Marks) -> (i64, usize) {
    let first = marks.rel(marks.start_ms).div_euclid(BUCKET_MS);
    let last = (marks.rel(marks.end_ms) + BUCKET_MS - 1).div_euclid(BUCKET_MS);
    (first, usize::try_from(last - first).unwrap_or(0))
}

/// One probing cluster's buckets over the whole grid of `marks`.
pub fn buckets(series: &Series, marks: &Marks) -> Vec<Bucket> {
    let (first, len) = grid(marks);
    let mut out: Vec<Bucket> = (0..len)
        .map(|i| Bucket {
            t_ms: (first + i as i64) * BUCKET_MS,
            ..Bucket::default()
        })
        .collect();
    let index = |rel_ms: i64| {
        usize::try_from(rel_ms.div_euclid(BUCKET_MS) - first)
            .ok()
            .filter(|i| *i < len)
    };
    for probe in &series.probes {
        if probe.started_ms >= marks.end_ms {
            continue;
        }
        if let Some(i) = index(marks.rel(probe.started_ms)) {
            match probe.ok {
                true => out[i].ok += 1,
                false => out[i].failed += 1,
            }
        }
    }
    for (from, to, deltas) in counter_deltas(&series.samples) {
        spread(&mut out, marks.rel(from), marks.rel(to), &deltas, &index);
    }
    for bucket in &mut out {
        let total: f64 = bucket.connections.values().sum();
        if bucket.ok > 0 && total > 0.0 {
            let ok = bucket.ok as f64;
            bucket.served = bucket
                .connections
                .iter()
                .map(|(c, n)| (c.clone(), ok * n / total))
                .collect();
        }
    }
    out
}

/// New connections between consecutive samples, as `(from, to, per cluster)`. The
/// counters are cumulative; one that went down was reset (its backend's counted
/// element was recreated), and one that appeared was created, so it counts from zero.
pub fn counter_deltas(samples: &[Sample]) -> Vec<(i64, i64, BTreeMap<String, u64>)> {
    let mut sorted: Vec<&Sample> = samples.iter().collect();
    sorted.sort_by_key(|s| s.at_ms);
    sorted
        .windows(2)
        .map(|pair| {
            let (before, now) = (pair[0], pair[1]);
            let deltas = now
                .connections
                .iter()
                .map(|(cluster, &value)| {
                    let delta = match before.connections.get(cluster) {
                        Some(&old) if value >= old => value - old,
                        _ => value,
                    };
                    (cluster.clone(), delta)
                })
                .filter(|(_, d)| *d > 0)
                .collect();
            (before.at_ms, now.at_ms, deltas)
        })
        .collect()
}

/// Adds `deltas`, counted over `(from, to]` (relative ms), to the buckets it overlaps,
/// in proportion to the overlap.
fn spread(
    out: &mut [Bucket],
    from: i64,
    to: i64,
    deltas: &BTreeMap<String, u64>,
    index: &dyn Fn(i64) -> Option<usize>,
) {
    if deltas.is_empty() {
        return;
    }
    let mut add = |i: usize, fraction: f64| {
        for (cluster, n) in deltas {
            *out[i].connections.entry(cluster.clone()).or_default() += *n as f64 * fraction;
        }
    };
    if to <= from {
        if let Some(i) = index(to) {
            add(i, 1.0);
        }
        return;
    }
    let span = (to - from) as f64;
    let mut at = from;
    while at < to {
        let bucket_end = (at.div_euclid(BUCKET_MS) + 1) * BUCKET_MS;
        let until = bucket_end.min(to);
        if let Some(i) = index(at) {
            add(i, (until - at) as f64 / span);
        }
        at = until;
    }
}

/// The last counter sample at or before the restore. The delta of the interval that
/// spans the restore is spread over both sides, although its connections may all be
/// from after it (traffic returning); so the fault is judged on the buckets before this
/// sample only.
pub fn judged_until(series: &Series, restore_ms: i64) -> Option<i64> {
    series
        .samples
        .iter()
        .map(|s| s.at_ms)
        .filter(|at| *at <= restore_ms)
        .max()
}

/// Buckets of several probing clusters (same grid) summed.
pub fn merge(per_prober: &[Vec<Bucket>]) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = match per_prober.first() {
        Some(first) => first
            .iter()
            .map(|b| Bucket {
                t_ms: b.t_ms,
                ..Bucket::default()
            })
            .collect(),
        None => return Vec::new(),
    };
    for buckets in per_prober {
        for (sum, b) in out.iter_mut().zip(buckets) {
            sum.add(b);
        }
    }
    out
}
