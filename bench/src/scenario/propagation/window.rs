//! One rate's run: each change's lag, and the changes never seen.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::stats::Summary;

use super::BOUND_MS;

/// Ticks at which changes are published; each publishes what is due since the last.
pub const TICK: std::time::Duration = std::time::Duration::from_millis(20);
/// How long after the window the last changes may still arrive.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Debug, Clone)]
pub struct Window {
    pub rate: u32,
    pub changes: usize,
    pub lags_ms: Vec<f64>,
    /// Changes not visible by the end of the grace period.
    pub missing: usize,
}

impl Window {
    pub fn sustained(&self) -> bool {
        self.missing == 0 && Summary::of(&self.lags_ms).is_some_and(|s| s.max <= BOUND_MS)
    }

    pub fn describe(&self) -> String {
        let lag = Summary::of(&self.lags_ms).map_or_else(
            || "no change seen".to_owned(),
            |s| {
                format!(
                    "lag p50 {:.1} / p99 {:.1} / max {:.1} ms",
                    s.p50, s.p99, s.max
                )
            },
        );
        format!(
            "{:>6} changes/s: {} changes, {lag}, {} missing: {}",
            self.rate,
            self.changes,
            self.missing,
            if self.sustained() {
                "sustained"
            } else {
                "NOT sustained"
            }
        )
    }

    pub fn json(&self) -> Value {
        let lag = Summary::of(&self.lags_ms);
        json!({
            "rate_per_s": self.rate,
            "changes": self.changes,
            "lag_ms": lag,
            "missing": self.missing,
            "sustained": self.sustained(),
        })
    }
}

/// One move of one pod: to the address of its `generation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Change {
    pub pod: u32,
    pub generation: u32,
}

/// Changes in flight: when each was published, until it is seen.
///
/// The view holds a pod's latest state, so a change superseded before it was exported
/// is never visible itself. It counts as seen when a later change of the same pod is,
/// with the lag from its own publication: the time until the view was at least that
/// new.
pub struct Pending {
    published: BTreeMap<Change, Instant>,
    lags_ms: Vec<f64>,
    changes: usize,
}

impl Pending {
    pub fn new() -> Self {
        Self {
            published: BTreeMap::new(),
            lags_ms: Vec::new(),
            changes: 0,
        }
    }

    pub fn published(&mut self, change: Change, at: Instant) {
        self.changes += 1;
        self.published.entry(change).or_insert(at);
    }

    /// `change` was seen at `at`: it and its pod's earlier pending changes are done.
    pub fn seen(&mut self, change: Change, at: Instant) {
        let first = Change {
            generation: 0,
            ..change
        };
        let done: Vec<Change> = (self.published.range(first..=change))
            .map(|(c, _)| *c)
            .collect();
        for c in done {
            if let Some(published) = self.published.remove(&c) {
                (self.lags_ms).push(at.saturating_duration_since(published).as_secs_f64() * 1e3);
            }
        }
    }

    /// Checks every pending change with `visible`, all seen at `at`.
    pub fn check(&mut self, at: Instant, mut visible: impl FnMut(&Change) -> bool) {
        let seen: Vec<Change> = self
            .published
            .keys()
            .copied()
            .filter(&mut visible)
            .collect();
        for change in seen {
            self.seen(change, at);
        }
    }

    pub fn len(&self) -> usize {
        self.published.len()
    }

    pub fn is_empty(&self) -> bool {
        self.published.is_empty()
    }

    pub fn finish(self, rate: u32) -> Window {
        Window {
            rate,
            changes: self.changes,
            lags_ms: self.lags_ms,
            missing: self.published.len(),
        }
    }
}

/// How many changes are due `elapsed` into a window at `rate`/s, in all.
pub fn due(rate: u32, elapsed: std::time::Duration) -> usize {
    (f64::from(rate) * elapsed.as_secs_f64()) as usize
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn changes_due_follow_the_rate() {
        assert_eq!(due(1_000, Duration::from_millis(20)), 20);
        assert_eq!(due(40_000, Duration::from_secs(5)), 200_000);
        assert_eq!(due(1_000, Duration::ZERO), 0);
    }

    fn change(pod: u32, generation: u32) -> Change {
        Change { pod, generation }
    }

    #[test]
    fn a_window_is_sustained_only_with_every_change_seen_within_the_bound() {
        let t0 = Instant::now();
        let mut pending = Pending::new();
        pending.published(change(0, 1), t0);
        pending.published(change(1, 1), t0);
        pending.seen(change(0, 1), t0 + Duration::from_millis(30));
        pending.seen(change(7, 1), t0 + Duration::from_millis(30));
        let open = pending.finish(1_000);
        assert_eq!((open.changes, open.missing), (2, 1));
        assert!(!open.sustained());

        let mut pending = Pending::new();
        pending.published(change(0, 1), t0);
        pending.published(change(1, 1), t0);
        pending.check(t0 + Duration::from_millis(40), |c| c.pod == 0);
        assert!(!pending.is_empty());
        pending.check(t0 + Duration::from_millis(1_500), |_| true);
        let late = pending.finish(1_000);
        assert_eq!(late.lags_ms, [40.0, 1_500.0]);
        assert!(!late.sustained(), "1.5 s is past the bound");
    }

    #[test]
    fn a_superseded_change_is_seen_when_a_later_one_of_its_pod_is() {
        let t0 = Instant::now();
        let mut pending = Pending::new();
        pending.published(change(3, 1), t0);
        pending.published(change(4, 1), t0);
        pending.published(change(3, 2), t0 + Duration::from_millis(100));
        pending.check(t0 + Duration::from_millis(250), |c| *c == change(3, 2));
        assert_eq!(pending.len(), 1, "pod 4's change is still pending");
        let window = pending.finish(20_000);
        assert_eq!(window.lags_ms, [250.0, 150.0]);
        assert_eq!(window.missing, 1);
    }

    #[test]
    fn a_change_published_again_keeps_its_first_publication() {
        let t0 = Instant::now();
        let mut pending = Pending::new();
        pending.published(change(0, 1), t0);
        pending.published(change(0, 1), t0 + Duration::from_millis(500));
        pending.seen(change(0, 1), t0 + Duration::from_millis(900));
        assert_eq!(pending.finish(1_000).lags_ms, [900.0]);
    }
}
