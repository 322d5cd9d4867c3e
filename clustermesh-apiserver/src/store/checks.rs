//! Request checks and small helpers every backend shares, so they refuse bad input with
//! the same words.

use std::time::Duration;

use super::{CommandResponse, Result, StoreError};

/// Rejects a batch larger than the backend takes, naming both sizes.
pub(crate) fn check_batch_size(len: usize, max: usize) -> Result<()> {
    match len <= max {
        true => Ok(()),
        false => Err(StoreError::InvalidArgument(format!(
            "batch of {len} operations exceeds the limit of {max}"
        ))),
    }
}

/// Lease TTLs are whole milliseconds, at least one.
pub(crate) fn lease_ttl_ms(ttl: Duration) -> Result<u64> {
    match u64::try_from(ttl.as_millis()) {
        Ok(ms) if ms > 0 => Ok(ms),
        _ => Err(StoreError::InvalidArgument(format!(
            "lease TTL {ttl:?} must be between 1 ms and {} ms",
            u64::MAX
        ))),
    }
}

/// A response of the wrong kind for its command: a bug, reported rather than panicked on.
pub(crate) fn unexpected(resp: CommandResponse) -> StoreError {
    StoreError::Backend(format!("unexpected command response {resp:?}"))
}
