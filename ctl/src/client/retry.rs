//! Retrying what the apiserver itself says to retry (`Unavailable`, e.g. before its
//! first export), with capped exponential backoff, until a deadline. Anything else
//! (down, refused, invalid) stops at once: retrying would only delay the bad news.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::CtlError;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Runs `attempt` until it succeeds, fails for good, or `deadline` passes; then the
/// error is a [`CtlError::Timeout`] quoting the last answer. `what` names the step
/// for that message.
pub async fn retry_unavailable<T, F, Fut>(
    deadline: Instant,
    started: Instant,
    what: &str,
    mut attempt: F,
) -> Result<T, CtlError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CtlError>>,
{
    let mut backoff = BACKOFF_MIN;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if e.is_retryable() => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(CtlError::Timeout {
                        after: now - started,
                        what: what.to_owned(),
                        last: Some(e.to_string()),
                    });
                }
                tokio::time::sleep(backoff.min(deadline.saturating_duration_since(now))).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e) => return Err(e),
        }
    }
}
