//! `connect --wait`: polls both sides until each reports the other connected,
//! reachable and synced in every record kind.

use std::time::Duration;

use crate::{
    client::Admin,
    duration::format_duration,
    error::CtlError,
    status::{POLL_INTERVAL, PeerReport, now_unix_ms},
};

use super::exchange::Budget;

/// How one side sees the other, in a few words.
pub fn describe(peer: Option<&PeerReport>) -> String {
    let Some(p) = peer else {
        return "not imported yet".to_owned();
    };
    let total = p.synced_kinds.len() + p.missing_kinds.len();
    let mut words = vec![
        if p.connected {
            "connected"
        } else {
            "not connected"
        }
        .to_owned(),
        if p.reachable {
            "reachable"
        } else {
            "not reachable"
        }
        .to_owned(),
        format!("synced {}/{total}", p.synced_kinds.len()),
    ];
    if let Some(e) = p.last_error.as_ref().filter(|_| !p.healthy) {
        words.push(format!("last error: {e}"));
    }
    words.join(", ")
}

/// The peer `name` in `side`'s status, or why it could not be asked.
async fn link(side: &Admin, name: &str) -> (bool, String) {
    match side.status().await {
        Ok(status) => {
            let peer = status
                .peers
                .iter()
                .find(|p| p.name == name)
                .map(|p| PeerReport::from_pb(p, now_unix_ms()));
            let healthy = peer.as_ref().is_some_and(|p| p.healthy);
            (healthy, describe(peer.as_ref()))
        }
        Err(e) => (false, format!("GetStatus failed: {e}")),
    }
}

/// Returns how long it took once both links are healthy; a timeout names the state
/// seen last.
pub async fn both_linked(
    a: (&Admin, &str),
    b: (&Admin, &str),
    budget: Budget,
    progress: &mut dyn FnMut(&str),
) -> Result<Duration, CtlError> {
    let ((admin_a, cluster_a), (admin_b, cluster_b)) = (a, b);
    loop {
        let ((a_ok, a_text), (b_ok, b_text)) =
            tokio::join!(link(admin_a, cluster_b), link(admin_b, cluster_a));
        let elapsed = budget.started.elapsed();
        if a_ok && b_ok {
            return Ok(elapsed);
        }
        let state = format!(
            "{} imports {}: {a_text}; {} imports {}: {b_text}",
            admin_a.context(),
            admin_b.context(),
            admin_b.context(),
            admin_a.context()
        );
        let now = tokio::time::Instant::now();
        if now >= budget.deadline {
            return Err(CtlError::Timeout {
                after: elapsed,
                what: "both sides to report the link connected, reachable and synced".into(),
                last: Some(state),
            });
        }
        progress(&format!("waiting {}: {state}", format_duration(elapsed)));
        tokio::time::sleep(POLL_INTERVAL.min(budget.deadline.saturating_duration_since(now))).await;
    }
}
