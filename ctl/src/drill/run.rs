//! The drill's phases: baseline, fault, restore, failback, stop. The fault is restored
//! on every path: the phases run inside one `select!` with the interrupt, and
//! whatever ends them (success, an error, Ctrl-C) falls through to the same restore.
//! Behind that, the fault's TTL covers a ctl that dies outright.

mod phases;
mod restore;

use std::time::Duration;

use self::{phases::Phases, restore::restore};
use super::{
    DrillError, FailoverOptions, Feedback, plan::Plan, report::ProberData, timeline::Marks,
};

/// The drill's fixed pacing. [`Default`] is what `ctl drill failover` uses.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Probing before the fault, to have a baseline and the counters' starting values.
    /// A second is ten buckets: enough to show the service healthy before the fault.
    pub baseline: Duration,
    /// How much longer than `baseline` to wait for every run's first counter samples.
    pub sample_grace: Duration,
    /// Recovery must hold this long (every probe ok, none to the target) before the
    /// fault is restored.
    pub stable: Duration,
    /// Probing on after the failback, so the timeline shows it.
    pub tail: Duration,
    /// At the end, waiting for probes still in flight (a probe takes at most 1 s).
    pub drain: Duration,
    /// A run that sends no report for this long has lost its agent (reports come
    /// every 100 ms).
    pub stall: Duration,
    /// How often the state is re-evaluated when no report arrives.
    pub tick: Duration,
    /// Added to the fault's TTL and the runs' duration, beyond the drill's own bound.
    pub margin: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            baseline: Duration::from_secs(1),
            sample_grace: Duration::from_secs(10),
            stable: Duration::from_secs(2),
            tail: Duration::from_secs(1),
            drain: Duration::from_secs(3),
            stall: Duration::from_secs(3),
            tick: Duration::from_millis(100),
            margin: Duration::from_secs(10),
        }
    }
}

impl Timings {
    /// An upper bound of the drill from the fault's injection: the recovery wait, the
    /// failback wait, the tail and the drain. It is the fault's TTL, so a ctl that dies
    /// cannot leave the fault in force for longer than the drill would have lasted.
    pub fn fault_ttl(&self, duration: Duration) -> Duration {
        duration * 2 + self.tail + self.drain + self.margin
    }

    /// The probe runs' duration: the whole drill, baseline included.
    pub fn probe_run(&self, duration: Duration) -> Duration {
        self.baseline + self.sample_grace + self.fault_ttl(duration)
    }
}

/// What the phases collected, for [`super::report::build`].
pub struct Collected {
    pub marks: Marks,
    pub fault_id: u64,
    pub fault_ttl: Duration,
    pub probers: Vec<ProberData>,
    pub warnings: Vec<String>,
}

/// Runs the drill of `plan`; restores the fault however the phases end.
pub async fn run(
    plan: &Plan,
    options: &FailoverOptions,
    timings: &Timings,
    feedback: &mut dyn Feedback,
    interrupt: impl Future<Output = ()>,
) -> Result<Collected, DrillError> {
    let mut fault = None;
    let result = {
        let phases = Phases {
            plan,
            options,
            timings,
            feedback: &mut *feedback,
            last_progress: None,
        };
        tokio::select! {
            result = phases.run(&mut fault) => result,
            () = interrupt => Err(DrillError::Interrupted),
        }
    };
    if fault.is_some() {
        let why = match &result {
            Err(DrillError::Interrupted) => "interrupted".to_owned(),
            Err(e) => format!("the drill failed ({e})"),
            Ok(_) => "the drill ended".to_owned(),
        };
        feedback.note(&format!(
            "{why}: restoring cluster {} before exiting (Ctrl-C is ignored until done)",
            plan.cluster
        ));
        if let Err(e) = restore(plan, &mut fault, options.timeout, feedback).await {
            feedback.note(&format!("error: {e}"));
            if result.is_ok() {
                return Err(e);
            }
        }
    }
    result
}
