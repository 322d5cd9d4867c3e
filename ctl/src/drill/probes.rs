//! Probe runs from several clusters, collected into one timeline's input. Each run is a
//! RunProbes response stream; they are polled together (no task of their own), and
//! dropping the [`Collector`] drops the streams, which stops every run at its agent.

use std::time::Duration;

use clustermesh_proto::pb;
use futures::{
    StreamExt as _,
    stream::{self, BoxStream, SelectAll},
};
use tokio::time::Instant;
use tonic::Code;

use super::{
    DrillError,
    plan::Prober,
    report::ProberData,
    timeline::{Probe, Sample, Settled},
};
use crate::{
    client::{Admin, retry_unavailable},
    duration::format_duration,
};

/// One stream's next item, or `None` once it ended.
type Item = (usize, Option<Result<pb::ProbeReport, tonic::Status>>);

/// One probing cluster's run as collected so far.
pub struct Run {
    pub data: ProberData,
    api: Admin,
    settled: Settled,
    last_report: Instant,
    last_sample_ms: Option<i64>,
    pub done: bool,
    /// The smallest `received - sampled` seen (ms): relay latency plus clock skew.
    pub min_lag_ms: Option<i64>,
}

impl Run {
    pub fn failed(&self) -> usize {
        self.data.series.probes.iter().filter(|p| !p.ok).count()
    }

    pub fn samples(&self) -> usize {
        self.data.series.samples.len()
    }

    pub fn last_sample_ms(&self) -> Option<i64> {
        self.last_sample_ms
    }

    /// Every probe started before this has been reported, and the counters are known up
    /// to it: data before it is final. A finished run is final everywhere.
    fn horizon(&self) -> Option<i64> {
        if self.done {
            return Some(i64::MAX);
        }
        Some(self.settled.through()?.min(self.last_sample_ms?))
    }
}

pub struct Collector {
    pub runs: Vec<Run>,
    streams: SelectAll<BoxStream<'static, Item>>,
}

pub fn now_unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Collector {
    /// Starts a run of `duration` at `rate` on every prober. A cluster with no agent to
    /// probe from refuses the drill; any other failure is an error.
    pub async fn start(
        probers: &[Prober],
        namespace: &str,
        name: &str,
        rate: u32,
        duration: Duration,
        deadline: Instant,
        refuse: impl FnOnce(Vec<String>) -> DrillError,
    ) -> Result<Self, DrillError> {
        let started = Instant::now();
        let request = pb::RunProbesRequest {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            rate_per_second: rate,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            node: String::new(),
        };
        let answers = futures::future::join_all(probers.iter().map(|p| {
            let request = request.clone();
            retry_unavailable(deadline, started, "RunProbes", move || {
                p.api.run_probes(request.clone())
            })
        }))
        .await;
        let mut problems = Vec::new();
        let mut streams = SelectAll::new();
        let mut runs = Vec::new();
        for (i, (prober, answer)) in probers.iter().zip(answers).enumerate() {
            match answer {
                Ok(reports) => {
                    let ended = stream::once(async move { (i, None) });
                    streams.push(reports.map(move |r| (i, Some(r))).chain(ended).boxed());
                    runs.push(Run {
                        data: ProberData {
                            context: prober.context.clone(),
                            cluster: prober.cluster.clone(),
                            ..ProberData::default()
                        },
                        api: prober.api.clone(),
                        settled: Settled::default(),
                        last_report: Instant::now(),
                        last_sample_ms: None,
                        done: false,
                        min_lag_ms: None,
                    });
                }
                Err(e) if e.answered() == Some(Code::FailedPrecondition) => {
                    problems.push(format!("{}: no agent to probe from: {e}", prober.cluster));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !problems.is_empty() {
            return Err(refuse(problems));
        }
        Ok(Self { runs, streams })
    }

    /// Waits for the next report and adds it; once every stream has ended, waits
    /// forever (the caller's deadline ends that). Cancel-safe: a report is only taken
    /// when it is added.
    pub async fn next(&mut self) -> Result<(), DrillError> {
        let Some((i, item)) = self.streams.next().await else {
            return std::future::pending().await;
        };
        let run = &mut self.runs[i];
        let report = match item {
            Some(Ok(report)) => report,
            Some(Err(status)) => return Err(run.api.error("RunProbes", &status).await.into()),
            None if run.done => return Ok(()),
            None => return Err(run.failure("its report stream ended before the last report")),
        };
        run.add(report, now_unix_ms())
    }

    /// A run that has not reported for `stall` has lost its agent: the apiserver keeps
    /// the run open, but nothing will come.
    pub fn check_stalled(&self, stall: Duration) -> Result<(), DrillError> {
        match self
            .runs
            .iter()
            .find(|r| !r.done && r.last_report.elapsed() >= stall)
        {
            Some(run) => Err(run.failure(&format!(
                "no report for {}; did its node agent stop?",
                format_duration(stall)
            ))),
            None => Ok(()),
        }
    }

    /// Data before this (unix ms) is final in every run; `None` until every run has
    /// reported a probe and a sample.
    pub fn horizon(&self) -> Option<i64> {
        let horizon = self.runs.iter().map(Run::horizon).min()??;
        if horizon == i64::MAX {
            return self.runs.iter().filter_map(|r| r.last_sample_ms).max();
        }
        Some(horizon)
    }

    /// Every probe started before `cutoff_ms` has been reported, in every run.
    pub fn complete_before(&self, cutoff_ms: i64) -> bool {
        self.runs
            .iter()
            .all(|r| r.done || r.settled.complete_before(cutoff_ms))
    }

    /// A run that finished (its duration ran out) while the drill still needed it.
    pub fn check_running(&self) -> Result<(), DrillError> {
        match self.runs.iter().find(|r| r.done) {
            Some(run) => Err(run.failure("the run ended before the drill did")),
            None => Ok(()),
        }
    }

    pub fn failed(&self) -> usize {
        self.runs.iter().map(Run::failed).sum()
    }

    /// Warnings about the runs' clocks: figures mix ctl's clock (fault, restore) with
    /// the agents' (probes, samples).
    pub fn clock_warnings(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter_map(|r| {
                let lag = r.min_lag_ms?;
                let node = &r.data.node;
                let cluster = &r.data.cluster;
                match lag {
                    lag if lag < -CLOCK_TOLERANCE_MS => Some(format!(
                        "the clock of {cluster}'s node {node} seems {}ms ahead of ctl's: RTO figures are off by about that much",
                        -lag
                    )),
                    lag if lag > CLOCK_TOLERANCE_MS * 4 => Some(format!(
                        "{cluster}'s node {node} reports arrive at least {lag}ms late (slow relay or its clock behind ctl's): RTO figures may be off by that much"
                    )),
                    _ => None,
                }
            })
            .collect()
    }

    pub fn into_data(self) -> Vec<ProberData> {
        self.runs.into_iter().map(|r| r.data).collect()
    }
}

/// Skew, in ms, that is not worth a warning.
const CLOCK_TOLERANCE_MS: i64 = 250;

impl Run {
    /// The drill's error about this run.
    pub fn failure(&self, reason: &str) -> DrillError {
        DrillError::Probes {
            cluster: self.data.cluster.clone(),
            node: match self.data.node.is_empty() {
                true => "unknown".to_owned(),
                false => self.data.node.clone(),
            },
            reason: reason.to_owned(),
        }
    }

    fn add(&mut self, report: pb::ProbeReport, received_ms: i64) -> Result<(), DrillError> {
        self.last_report = Instant::now();
        if self.data.node.is_empty() {
            self.data.node = report.node.clone();
        }
        if !report.error.is_empty() {
            return Err(self.failure(&report.error));
        }
        for r in report.results {
            self.settled.record(r.seq, r.started_unix_ms);
            self.data.series.probes.push(Probe {
                seq: r.seq,
                started_ms: r.started_unix_ms,
                ok: r.ok,
                error: r.error,
            });
        }
        for s in report.samples {
            let lag = received_ms - s.at_unix_ms;
            self.min_lag_ms = Some(self.min_lag_ms.map_or(lag, |m| m.min(lag)));
            self.last_sample_ms = self.last_sample_ms.max(Some(s.at_unix_ms));
            self.data.series.samples.push(Sample {
                at_ms: s.at_unix_ms,
                connections: s.connections_per_cluster.into_iter().collect(),
            });
        }
        self.done |= report.done;
        Ok(())
    }
}
