//! Lifting the drill's fault: retried while the apiserver may still answer, and said on
//! stderr.

use std::time::Duration;

use tokio::time::Instant;
use tonic::Code;

use crate::drill::{DrillError, Feedback, plan::Plan, probes::now_unix_ms};
use crate::error::{Cause, CtlError};

/// A fault in force that this drill injected.
#[derive(Debug, Clone, Copy)]
pub(super) struct Injected {
    pub id: u64,
    pub expires_unix_ms: i64,
}

/// Clears the fault in `slot`, retrying while the apiserver is unreachable or
/// unavailable, until `timeout`. `slot` is emptied only once the outcome is final, so a
/// restore cut short (Ctrl-C) is done again by [`super::run`].
pub(super) async fn restore(
    plan: &Plan,
    slot: &mut Option<Injected>,
    timeout: Duration,
    feedback: &mut dyn Feedback,
) -> Result<(), DrillError> {
    let Some(fault) = *slot else {
        return Ok(());
    };
    let cluster = &plan.cluster;
    feedback.note(&format!(
        "restoring: clearing fault {} in cluster {cluster}",
        fault.id
    ));
    let deadline = Instant::now() + timeout;
    let mut backoff = Duration::from_millis(100);
    loop {
        match plan.target.clear_fault(fault.id).await {
            Ok(_) => {
                *slot = None;
                feedback.note(&format!(
                    "restored: fault {} cleared in cluster {cluster}",
                    fault.id
                ));
                return Ok(());
            }
            Err(e) if e.answered() == Some(Code::NotFound) => {
                *slot = None;
                feedback.note(&format!(
                    "restored: fault {} in cluster {cluster} had already lifted (its TTL ran out)",
                    fault.id
                ));
                return Ok(());
            }
            Err(e) if worth_retrying(&e) && Instant::now() + backoff < deadline => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                *slot = None;
                let left = (fault.expires_unix_ms - now_unix_ms()).max(0) as u64;
                return Err(DrillError::NotRestored {
                    cluster: cluster.clone(),
                    fault_id: fault.id,
                    lifts_in: Duration::from_millis(left),
                    source: Box::new(e),
                });
            }
        }
    }
}

/// The apiserver may answer later: it said so, or it did not answer at all.
fn worth_retrying(e: &CtlError) -> bool {
    matches!(
        e,
        CtlError::Api {
            cause: Cause::Unavailable(_)
                | Cause::ConnectionRefused
                | Cause::TimedOut
                | Cause::Transport(_),
            ..
        }
    )
}
