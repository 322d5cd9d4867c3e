//! Every probe accounted for, and how far a run's results are complete.

use std::collections::{BTreeMap, BTreeSet};

use super::Probe;

/// Every probe of one run accounted for: `sent = ok + failed + unreported`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Probes started before the cutoff: one more than the highest such `seq`, since
    /// probes are numbered from 0 in the order they start.
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
    /// `seq`s below `sent` never reported.
    pub unreported: u64,
    /// Reports of a `seq` already reported (the contract says this never happens).
    pub duplicates: u64,
}

impl Accounting {
    /// Every probe reported exactly once.
    pub fn complete(&self) -> bool {
        self.unreported == 0 && self.duplicates == 0
    }

    pub fn add(&mut self, other: &Accounting) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.failed += other.failed;
        self.unreported += other.unreported;
        self.duplicates += other.duplicates;
    }
}

pub fn account(probes: &[Probe], cutoff_ms: i64) -> Accounting {
    let sent = probes
        .iter()
        .filter(|p| p.started_ms < cutoff_ms)
        .map(|p| p.seq + 1)
        .max()
        .unwrap_or(0);
    let mut seen = BTreeSet::new();
    let mut out = Accounting {
        sent,
        ..Accounting::default()
    };
    for p in probes.iter().filter(|p| p.seq < sent) {
        if !seen.insert(p.seq) {
            out.duplicates += 1;
        } else if p.ok {
            out.ok += 1;
        } else {
            out.failed += 1;
        }
    }
    out.unreported = sent - seen.len() as u64;
    out
}

/// How far one run's probe results are complete: every probe started before
/// [`Settled::through`] has been reported (probes start in `seq` order, and each is
/// reported once it finished, so only the lowest missing `seq` matters).
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// The lowest `seq` not reported yet.
    next_missing: u64,
    /// Reported `seq`s above `next_missing`, with their start.
    ahead: BTreeMap<u64, i64>,
    /// Start of `next_missing - 1`.
    through: Option<i64>,
    highest: Option<(u64, i64)>,
}

impl Settled {
    pub fn record(&mut self, seq: u64, started_ms: i64) {
        if self.highest.is_none_or(|(s, _)| seq > s) {
            self.highest = Some((seq, started_ms));
        }
        if seq < self.next_missing {
            return;
        }
        self.ahead.insert(seq, started_ms);
        while let Some(started) = self.ahead.remove(&self.next_missing) {
            self.through = Some(started);
            self.next_missing += 1;
        }
    }

    /// Probes started before this (unix ms) are all reported; `None` until known.
    pub fn through(&self) -> Option<i64> {
        self.through
    }

    /// No probe is missing below the highest reported one, and that one started at or
    /// after `cutoff_ms`: every probe started before the cutoff is in.
    pub fn complete_before(&self, cutoff_ms: i64) -> bool {
        self.ahead.is_empty()
            && self
                .highest
                .is_some_and(|(_, started)| started >= cutoff_ms)
    }
}
