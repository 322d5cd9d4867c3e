//! Listen addresses must not collide, or the second bind fails after the first
//! service already started.

use std::net::SocketAddr;

use super::ConfigError;

/// Refuses two flags that would bind the same port on overlapping addresses. Port 0
/// (an ephemeral port, as tests use) never collides.
pub(super) fn check_distinct(addrs: &[(&str, Option<SocketAddr>)]) -> Result<(), ConfigError> {
    let set: Vec<(&str, SocketAddr)> = addrs
        .iter()
        .filter_map(|(flag, addr)| addr.map(|addr| (*flag, addr)))
        .collect();
    for (i, (flag_a, a)) in set.iter().enumerate() {
        for (flag_b, b) in &set[i + 1..] {
            let overlap = a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified();
            if a.port() != 0 && a.port() == b.port() && overlap {
                return Err(ConfigError::Conflict(format!(
                    "{flag_a} {a} and {flag_b} {b} would both bind port {}; give them different ports",
                    a.port()
                )));
            }
        }
    }
    Ok(())
}
