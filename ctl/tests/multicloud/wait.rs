//! Waiting on conditions with deadlines (never a fixed sleep), and the wall clock the
//! probers share with the tests.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often conditions are polled.
pub const POLL: Duration = Duration::from_millis(50);

/// Polls `check` every [`POLL`] until it returns `Ok`, and returns that value. Past
/// `within`, panics with `what` and the last `Err` (what was still missing).
pub fn until<T>(within: Duration, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return value,
            Err(missing) if Instant::now() >= deadline => {
                panic!("{what}: not true within {within:?}; last: {missing}")
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Seconds since the epoch, as the probers write their start times.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}
