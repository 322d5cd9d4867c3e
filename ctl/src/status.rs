//! `ctl status`: every cluster's apiserver, peers, node agents and store, judged
//! healthy or not, optionally polled until healthy.

mod render;
mod report;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clustermesh_proto::client_config::Context;
use tokio::time::Instant;

pub use self::{
    render::render,
    report::{
        ApiserverReport, ClusterReport, ClusterSummary, NodeReport, PeerReport, StatusReport,
        StoreReport, TunnelsReport,
    },
};
use crate::client::{Admin, Timeouts};

/// How often `--wait` asks again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One cluster's status; an unreachable apiserver is a report, not an error.
pub async fn cluster_status(context: &Context, timeouts: Timeouts) -> ClusterReport {
    let (name, server) = (context.name.as_str(), context.server.to_string());
    let answer = async {
        let admin = Admin::connect(context, timeouts).await?;
        admin.status().await
    };
    match answer.await {
        Ok(status) => ClusterReport::from_status(name, &server, &status, now_unix_ms()),
        Err(e) => ClusterReport::failed(name, &server, &e),
    }
}

/// Every context's status, asked in parallel.
pub async fn mesh_status(contexts: &[&Context], timeouts: Timeouts) -> StatusReport {
    let asks = contexts.iter().map(|c| cluster_status(c, timeouts));
    StatusReport::new(futures::future::join_all(asks).await)
}

/// Polls [`mesh_status`] until it is healthy or `timeout` has passed, calling
/// `progress` with a one-line summary after each unhealthy answer. Returns the last
/// report either way.
pub async fn wait_healthy(
    contexts: &[&Context],
    timeouts: Timeouts,
    timeout: Duration,
    progress: &mut dyn FnMut(&str),
) -> StatusReport {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        let report = mesh_status(contexts, timeouts).await;
        if report.healthy || Instant::now() >= deadline {
            return report;
        }
        progress(&waiting_line(&report, started.elapsed()));
        tokio::time::sleep(POLL_INTERVAL.min(deadline.saturating_duration_since(Instant::now())))
            .await;
    }
}

/// `waiting 4.1s: 2 problems; a: peer b has not synced services`.
pub fn waiting_line(report: &StatusReport, elapsed: Duration) -> String {
    let first = report
        .clusters
        .iter()
        .find_map(|c| c.problems.first().map(|p| format!("{}: {p}", c.context)))
        .unwrap_or_default();
    format!(
        "waiting {}: {} problem(s); {first}",
        crate::duration::format_duration(elapsed),
        report.problem_count()
    )
}

#[cfg(test)]
mod tests;
