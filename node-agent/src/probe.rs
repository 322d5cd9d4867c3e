//! Drill probes: one new TCP connection to a service's `vip:port` every 1/rate
//! seconds, through this node's own dataplane (the connection is DNATed by the load
//! balancer like any client's), with a report every [`REPORT_EVERY`]: each probe's
//! outcome, and the load balancer's per-cluster connection counters for the service.
//! Every probe started is reported exactly once, the last report says `done`.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use async_trait::async_trait;
use clustermesh_proto::pb;
use futures::{StreamExt as _, stream::FuturesUnordered};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::sync::CancellationToken;

use crate::exec::ExecError;

/// How often results and counters are sent.
pub const REPORT_EVERY: Duration = Duration::from_millis(100);
/// A probe not connected by then has failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The load balancer's connection counters, per cluster, for one frontend.
#[async_trait]
pub trait ConnectionCounters: Send + Sync {
    async fn per_cluster(&self, target: SocketAddr) -> Result<BTreeMap<String, u64>, ExecError>;
}

#[async_trait]
impl ConnectionCounters for crate::nft::NftServices {
    async fn per_cluster(&self, target: SocketAddr) -> Result<BTreeMap<String, u64>, ExecError> {
        self.connections_per_cluster(target).await
    }
}

pub mod source;

/// Runs one assignment until its duration ends or `cancel`; returns when the last
/// report is sent (or nobody listens any more). Probes leave from `source` when given
/// (see [`source`]).
pub async fn run(
    assignment: pb::ProbeAssignment,
    source: Option<IpAddr>,
    counters: Arc<dyn ConnectionCounters>,
    reports: mpsc::Sender<pb::ProbeReport>,
    cancel: CancellationToken,
) {
    let run_id = assignment.run_id;
    let report = |results, samples, done, error: String| pb::ProbeReport {
        run_id,
        node: String::new(),
        results,
        samples,
        done,
        error,
    };
    let target = match assignment.target.parse::<SocketAddr>() {
        Ok(t) if assignment.rate_per_second > 0 => t,
        _ => {
            let why = format!(
                "cannot probe {:?} at {}/s",
                assignment.target, assignment.rate_per_second
            );
            let _ = reports.send(report(vec![], vec![], true, why)).await;
            return;
        }
    };
    let period = Duration::from_secs(1) / assignment.rate_per_second;
    let end = Instant::now() + Duration::from_millis(assignment.duration_ms);
    let mut next_probe = tokio::time::interval(period);
    // A late tick is skipped, not made up in a burst: the rate is the drill's promise.
    next_probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut flush = tokio::time::interval(REPORT_EVERY);
    let mut in_flight = FuturesUnordered::new();
    let mut results = Vec::new();
    let mut seq = 0;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep_until(end) => break,
            _ = next_probe.tick() => {
                in_flight.push(probe(seq, source, target));
                seq += 1;
            }
            Some(result) = in_flight.next() => results.push(result),
            _ = flush.tick() => {
                let sample = sample(counters.as_ref(), target).await;
                let batch = std::mem::take(&mut results);
                if reports.send(report(batch, sample, false, String::new())).await.is_err() {
                    return;
                }
            }
        }
    }
    // Probes already started finish (each within PROBE_TIMEOUT) and are reported.
    while let Some(result) = in_flight.next().await {
        results.push(result);
    }
    let sample = sample(counters.as_ref(), target).await;
    let _ = reports
        .send(report(results, sample, true, String::new()))
        .await;
}

async fn sample(counters: &dyn ConnectionCounters, target: SocketAddr) -> Vec<pb::BackendSample> {
    match counters.per_cluster(target).await {
        Ok(connections_per_cluster) => vec![pb::BackendSample {
            at_unix_ms: now_unix_ms(),
            connections_per_cluster,
        }],
        Err(error) => {
            tracing::debug!(%error, "reading connection counters failed");
            Vec::new()
        }
    }
}

/// One new TCP connection; connected is success.
async fn probe(seq: u64, source: Option<IpAddr>, target: SocketAddr) -> pb::ProbeResult {
    let started_unix_ms = now_unix_ms();
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, connect(source, target)).await;
    let latency_us = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
    let error = match outcome {
        Ok(Ok(_stream)) => String::new(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no connection within {PROBE_TIMEOUT:?}"),
    };
    pb::ProbeResult {
        seq,
        started_unix_ms,
        latency_us,
        ok: error.is_empty(),
        error,
    }
}

async fn connect(
    source: Option<IpAddr>,
    target: SocketAddr,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = match target {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    if let Some(ip) = source.filter(|ip| ip.is_ipv4() == target.is_ipv4()) {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    socket.connect(target).await
}

fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests;
