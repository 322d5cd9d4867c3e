//! How often an exporter sends `Heartbeat`s on a peer stream. The importer asks for an
//! interval derived from its peer timeout (`PeerWatchRequest.heartbeat_interval_ms`);
//! the exporter clamps what it is asked, so one rule on both sides keeps them agreeing.

use std::time::Duration;

/// The fastest heartbeat an exporter sends: a floor against a peer asking for a flood.
pub const PEER_HEARTBEAT_MIN: Duration = Duration::from_millis(100);
/// The slowest, and the interval for a request that names none.
pub const PEER_HEARTBEAT_MAX: Duration = Duration::from_secs(1);
/// Heartbeats per peer timeout: a timeout survives three late or lost heartbeats.
pub const HEARTBEATS_PER_PEER_TIMEOUT: u32 = 4;
/// The shortest peer timeout that still gets its four heartbeats.
pub const PEER_TIMEOUT_MIN: Duration =
    Duration::from_millis(100 * HEARTBEATS_PER_PEER_TIMEOUT as u64);

/// The interval an importer with `peer_timeout` asks for.
pub fn peer_heartbeat_for_timeout(peer_timeout: Duration) -> Duration {
    (peer_timeout / HEARTBEATS_PER_PEER_TIMEOUT).clamp(PEER_HEARTBEAT_MIN, PEER_HEARTBEAT_MAX)
}

/// The interval an exporter uses for a request asking for `requested_ms` (0: unset).
pub fn peer_heartbeat_granted(requested_ms: u64) -> Duration {
    if requested_ms == 0 {
        return PEER_HEARTBEAT_MAX;
    }
    Duration::from_millis(requested_ms).clamp(PEER_HEARTBEAT_MIN, PEER_HEARTBEAT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_importer_asks_for_a_quarter_of_its_timeout_within_the_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(peer_heartbeat_for_timeout(ms(1000)), ms(250));
        assert_eq!(peer_heartbeat_for_timeout(ms(3000)), ms(750));
        assert_eq!(peer_heartbeat_for_timeout(ms(60_000)), PEER_HEARTBEAT_MAX);
        assert_eq!(peer_heartbeat_for_timeout(ms(100)), PEER_HEARTBEAT_MIN);
        assert_eq!(
            peer_heartbeat_for_timeout(PEER_TIMEOUT_MIN),
            PEER_HEARTBEAT_MIN
        );
    }

    #[test]
    fn an_exporter_clamps_what_it_is_asked_and_defaults_to_a_second() {
        let ms = Duration::from_millis;
        assert_eq!(peer_heartbeat_granted(0), PEER_HEARTBEAT_MAX);
        assert_eq!(peer_heartbeat_granted(1), PEER_HEARTBEAT_MIN);
        assert_eq!(peer_heartbeat_granted(250), ms(250));
        assert_eq!(peer_heartbeat_granted(u64::MAX), PEER_HEARTBEAT_MAX);
    }
}
