//! Wall-clock deadlines for leases, kept outside the deterministic state.
//!
//! Like etcd, only the store's authority (the memory store itself, or the raft leader)
//! keeps deadlines; keep-alives are not replicated. A new leader restarts every lease's
//! full TTL, so a leader change can lengthen a lease but never shorten it.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::LeaseId;

#[derive(Debug, Default)]
pub(crate) struct LeaseClock {
    deadlines: HashMap<LeaseId, (Instant, Duration)>,
}

impl LeaseClock {
    pub(crate) fn track(&mut self, id: LeaseId, ttl: Duration, now: Instant) {
        self.deadlines.insert(id, (now + ttl, ttl));
    }

    /// Restarts the lease's TTL; false if the clock does not know it.
    pub(crate) fn refresh(&mut self, id: LeaseId, now: Instant) -> bool {
        match self.deadlines.get_mut(&id) {
            Some((deadline, ttl)) => {
                *deadline = now + *ttl;
                true
            }
            None => false,
        }
    }

    pub(crate) fn forget(&mut self, id: LeaseId) {
        self.deadlines.remove(&id);
    }

    /// Leases whose deadline has passed. They stay tracked until `forget`, so a failed
    /// expiry proposal is retried on the next tick.
    pub(crate) fn expired(&self, now: Instant) -> Vec<LeaseId> {
        let mut ids: Vec<LeaseId> = self
            .deadlines
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// Replaces the tracked set with `leases`, each with a fresh full TTL.
    pub(crate) fn reset(&mut self, leases: impl Iterator<Item = (LeaseId, u64)>, now: Instant) {
        self.deadlines = leases
            .map(|(id, ttl_ms)| {
                let ttl = Duration::from_millis(ttl_ms);
                (id, (now + ttl, ttl))
            })
            .collect();
    }

    /// Tracks leases new to the clock with a full TTL and forgets those that are gone.
    pub(crate) fn sync(&mut self, leases: impl Iterator<Item = (LeaseId, u64)>, now: Instant) {
        let live: HashMap<LeaseId, u64> = leases.collect();
        self.deadlines.retain(|id, _| live.contains_key(id));
        for (id, ttl_ms) in live {
            self.deadlines.entry(id).or_insert_with(|| {
                let ttl = Duration::from_millis(ttl_ms);
                (now + ttl, ttl)
            });
        }
    }

    pub(crate) fn clear(&mut self) {
        self.deadlines.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_refresh_and_reset() {
        let t0 = Instant::now();
        let mut clock = LeaseClock::default();
        clock.track(LeaseId(1), Duration::from_secs(3), t0);
        clock.track(LeaseId(2), Duration::from_secs(1), t0);
        assert_eq!(clock.expired(t0 + Duration::from_secs(2)), vec![LeaseId(2)]);
        assert!(clock.refresh(LeaseId(2), t0 + Duration::from_secs(2)));
        assert!(clock.expired(t0 + Duration::from_millis(2900)).is_empty());
        assert!(!clock.refresh(LeaseId(9), t0));
        clock.reset(
            [(LeaseId(1), 1000)].into_iter(),
            t0 + Duration::from_secs(10),
        );
        assert!(clock.expired(t0 + Duration::from_secs(10)).is_empty());
        assert_eq!(
            clock.expired(t0 + Duration::from_secs(11)),
            vec![LeaseId(1)]
        );
    }
}
