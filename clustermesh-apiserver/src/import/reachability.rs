//! When a peer counts as unreachable, and when its cached records expire. Pure: the
//! task feeds it the clock and does what it says.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    MarkUnreachable,
    Purge,
}

#[derive(Debug)]
pub(super) struct Reachability {
    timeout: Duration,
    cache_ttl: Option<Duration>,
    deadline: Instant,
    reachable: Option<bool>,
    unreachable_since: Option<Instant>,
    purged: bool,
}

impl Reachability {
    /// A peer that has not sent a heartbeat within `timeout` of `start` is unreachable.
    pub fn new(start: Instant, timeout: Duration, cache_ttl: Option<Duration>) -> Self {
        Self {
            timeout,
            cache_ttl,
            deadline: start + timeout,
            reachable: None,
            unreachable_since: None,
            purged: false,
        }
    }

    #[cfg(test)]
    pub fn reachable(&self) -> Option<bool> {
        self.reachable
    }

    /// A heartbeat arrived; true when that made the peer reachable again.
    pub fn beat(&mut self, now: Instant) -> bool {
        self.deadline = now + self.timeout;
        self.unreachable_since = None;
        self.purged = false;
        let changed = self.reachable != Some(true);
        self.reachable = Some(true);
        changed
    }

    /// When [`Reachability::due`] next has something to say.
    pub fn next_wake(&self) -> Option<Instant> {
        match (self.reachable, self.unreachable_since, self.cache_ttl) {
            // A TTL too large for the clock means never.
            (Some(false), Some(since), Some(ttl)) if !self.purged => since.checked_add(ttl),
            (Some(false), _, _) => None,
            _ => Some(self.deadline),
        }
    }

    /// What is due at `now`, updating the state as if it was done.
    pub fn due(&mut self, now: Instant) -> Option<Due> {
        match self.reachable {
            Some(false) => match (self.unreachable_since, self.cache_ttl) {
                (Some(since), Some(ttl))
                    if !self.purged && since.checked_add(ttl).is_some_and(|at| now >= at) =>
                {
                    self.purged = true;
                    Some(Due::Purge)
                }
                _ => None,
            },
            _ if now >= self.deadline => {
                self.reachable = Some(false);
                self.unreachable_since = Some(now);
                Some(Due::MarkUnreachable)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(3);

    #[test]
    fn silence_past_the_timeout_marks_unreachable_once() {
        let start = Instant::now();
        let mut r = Reachability::new(start, TIMEOUT, None);
        assert_eq!(r.due(start + Duration::from_secs(2)), None);
        assert_eq!(r.next_wake(), Some(start + TIMEOUT));
        assert_eq!(r.due(start + TIMEOUT), Some(Due::MarkUnreachable));
        assert_eq!(r.reachable(), Some(false));
        assert_eq!(r.due(start + TIMEOUT * 2), None);
        assert_eq!(
            r.next_wake(),
            None,
            "nothing more to do without a cache TTL"
        );
    }

    #[test]
    fn heartbeats_push_the_deadline_and_restore_reachability() {
        let start = Instant::now();
        let mut r = Reachability::new(start, TIMEOUT, None);
        assert!(
            r.beat(start + Duration::from_secs(1)),
            "first beat makes it reachable"
        );
        assert!(!r.beat(start + Duration::from_secs(2)), "already reachable");
        assert_eq!(r.due(start + Duration::from_secs(4)), None);
        assert_eq!(
            r.due(start + Duration::from_secs(5)),
            Some(Due::MarkUnreachable)
        );
        assert!(r.beat(start + Duration::from_secs(6)));
        assert_eq!(r.reachable(), Some(true));
    }

    #[test]
    fn cache_ttl_purges_once_after_unreachable() {
        let start = Instant::now();
        let ttl = Duration::from_secs(10);
        let mut r = Reachability::new(start, TIMEOUT, Some(ttl));
        assert_eq!(r.due(start + TIMEOUT), Some(Due::MarkUnreachable));
        assert_eq!(r.next_wake(), Some(start + TIMEOUT + ttl));
        assert_eq!(r.due(start + TIMEOUT + ttl), Some(Due::Purge));
        assert_eq!(r.due(start + TIMEOUT + ttl * 2), None);
        assert_eq!(r.next_wake(), None);
    }
}
