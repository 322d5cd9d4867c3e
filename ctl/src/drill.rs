//! `ctl drill failover`: real probe traffic from the other clusters' node agents, a
//! fault injected into one cluster, and the measured recovery and failback, as a
//! table, JSON and an SVG timeline (DESIGN.md, "Drills"; docs/cli.md has every
//! definition).
//!
//! - [`plan`] decides who probes and refuses unsafe or meaningless drills;
//! - [`run`] drives the phases and restores the fault on every path;
//! - [`probes`] collects the runs' reports; [`timeline`] turns them into figures;
//! - [`report`], [`render`] and [`svg`] present them.

pub mod plan;
pub mod probes;
pub mod render;
pub mod report;
pub mod run;
pub mod svg;
pub mod timeline;

use std::{fmt, time::Duration};

use clustermesh_proto::{client_config::ClientConfig, pb};
use serde::Serialize;

pub use self::{
    render::render,
    report::{DrillReport, build},
    run::Timings,
};
use crate::{
    client::Timeouts,
    duration::format_duration,
    error::{CtlError, EXIT_FAILURE},
    output::Progress,
};

/// What the drill breaks in the faulted cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The service's backends are exported not ready, as if every pod failed its
    /// readiness probe.
    Backends,
    /// The cluster is cut from the mesh: its peers lose it after their peer timeout.
    Cluster,
}

impl FaultKind {
    fn request(self, namespace: &str, name: &str, ttl: Duration) -> pb::InjectFaultRequest {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        match self {
            Self::Backends => pb::InjectFaultRequest {
                kind: pb::FaultKind::Backends.into(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                ttl_ms,
            },
            Self::Cluster => pb::InjectFaultRequest {
                kind: pb::FaultKind::Cluster.into(),
                ttl_ms,
                ..Default::default()
            },
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Backends => "backends",
            Self::Cluster => "cluster",
        })
    }
}

/// The longest `--duration`: the drill (twice the duration, plus the baseline and the
/// margins) must fit in a fault's and a probe run's 10-minute limit.
pub const MAX_DURATION: Duration = Duration::from_secs(240);

#[derive(Debug, Clone)]
pub struct FailoverOptions {
    /// The context of the cluster to fault.
    pub context: String,
    pub namespace: String,
    pub name: String,
    pub fault: FaultKind,
    /// Probes per second, per probing cluster.
    pub rate: u32,
    /// The longest wait for recovery after the fault, and for failback after the
    /// restore.
    pub duration: Duration,
    /// Bounds the setup (starting the probe runs) and the restore's retries.
    pub timeout: Duration,
    pub timeouts: Timeouts,
    /// The least time between two progress lines of one phase.
    pub progress_every: Duration,
}

impl FailoverOptions {
    pub fn service(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// What clap cannot check: a usage error.
    pub fn validate(&self) -> Result<(), CtlError> {
        if self.duration > MAX_DURATION {
            return Err(CtlError::Usage(format!(
                "--duration {} is too long: at most {}, so the drill fits a fault's 10-minute TTL",
                format_duration(self.duration),
                format_duration(MAX_DURATION)
            )));
        }
        Ok(())
    }
}

/// Parses `NAMESPACE/NAME`.
pub fn parse_service(text: &str) -> Result<(String, String), String> {
    match text.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_owned(), name.to_owned()))
        }
        _ => Err(format!(
            "invalid service {text:?}: expected NAMESPACE/NAME, like default/echo"
        )),
    }
}

/// Where the drill tells the operator what it is doing (stderr).
pub trait Feedback {
    /// The state while waiting; replaced by the next.
    fn progress(&mut self, line: &str);
    /// Something that happened (a fault injected, restored); stays on screen.
    fn note(&mut self, line: &str);
}

impl Feedback for Progress<'_> {
    fn progress(&mut self, line: &str) {
        self.update(line);
    }

    fn note(&mut self, line: &str) {
        self.update(line);
        self.finish();
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DrillError {
    #[error(transparent)]
    Ctl(#[from] CtlError),
    /// Nothing was broken: the drill would be unsafe or would measure nothing.
    #[error("refusing to drill {service} in {context}:{}", bullets(problems))]
    Refused {
        context: String,
        service: String,
        problems: Vec<String>,
    },
    /// A probe run failed; the fault, if any, has been restored.
    #[error("probe run from {cluster} (node {node}): {reason}")]
    Probes {
        cluster: String,
        node: String,
        reason: String,
    },
    #[error("interrupted")]
    Interrupted,
    #[error(
        "could not clear fault {fault_id} in cluster {cluster}: {source}; it lifts by itself within {}",
        format_duration(*lifts_in)
    )]
    NotRestored {
        cluster: String,
        fault_id: u64,
        lifts_in: Duration,
        #[source]
        source: Box<CtlError>,
    },
}

impl DrillError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Ctl(e) => e.exit_code(),
            _ => EXIT_FAILURE,
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Ctl(e) => e.hint(),
            Self::Refused { .. } => {
                Some("see what each cluster selects with `ctl services --context NAME`".into())
            }
            Self::Probes { cluster, .. } => Some(format!(
                "check the node agents of {cluster} with `ctl status --context {cluster}`"
            )),
            Self::NotRestored { source, .. } => source.hint(),
            Self::Interrupted => None,
        }
    }
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|i| format!("\n  - {i}")).collect()
}

/// The whole drill: plan, phases (restoring on every path), report. `interrupt`
/// completing (Ctrl-C) ends it early, restored.
pub async fn failover(
    config: &ClientConfig,
    options: &FailoverOptions,
    timings: &Timings,
    feedback: &mut dyn Feedback,
    interrupt: impl Future<Output = ()>,
) -> Result<DrillReport, DrillError> {
    options.validate()?;
    let plan = plan::prepare(config, options).await?;
    let collected = run::run(&plan, options, timings, feedback, interrupt).await?;
    let drill = report::Drill {
        context: plan.context.clone(),
        cluster: plan.cluster.clone(),
        namespace: options.namespace.clone(),
        name: options.name.clone(),
        fault: options.fault,
        fault_id: collected.fault_id,
        fault_ttl_ms: collected.fault_ttl.as_millis() as u64,
        rate_per_second: options.rate,
        duration_ms: options.duration.as_millis() as u64,
        stable_ms: timings.stable.as_millis() as u64,
        marks: collected.marks,
        skipped: plan.skipped.clone(),
        warnings: collected.warnings,
    };
    Ok(report::build(&drill, &collected.probers))
}

#[cfg(test)]
mod tests;
