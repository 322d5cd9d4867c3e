//! The phases themselves: baseline, fault, restore, failback, drain, each a wait on
//! the collected reports with a deadline and a progress line.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    Collected, Timings,
    restore::{Injected, restore},
};
use crate::{
    drill::{
        DrillError, FailoverOptions, Feedback,
        plan::Plan,
        probes::{Collector, now_unix_ms},
        timeline::{self, Figures, Marks},
    },
    duration::format_duration,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    Baseline,
    Fault,
    Failback,
    Drain,
}

pub(super) struct Phases<'a> {
    pub plan: &'a Plan,
    pub options: &'a FailoverOptions,
    pub timings: &'a Timings,
    pub feedback: &'a mut dyn Feedback,
    pub last_progress: Option<(Stage, Instant)>,
}

/// The figures of what is final so far.
fn live(
    collector: &Collector,
    start_ms: i64,
    fault_ms: i64,
    restore_ms: Option<i64>,
    target: &str,
    stable: Duration,
) -> Option<Figures> {
    let end_ms = collector.horizon()?;
    if end_ms <= fault_ms {
        return None;
    }
    let marks = Marks {
        start_ms,
        fault_ms,
        restore_ms,
        end_ms,
        judged_until_ms: None,
    };
    let per_prober: Vec<_> = collector
        .runs
        .iter()
        .map(|r| timeline::buckets(&r.data.series, &marks))
        .collect();
    let merged = timeline::merge(&per_prober);
    let probes = collector.runs.iter().flat_map(|r| &r.data.series.probes);
    let stable_ms = stable.as_millis() as i64;
    Some(timeline::figures(
        &merged, probes, &marks, target, stable_ms,
    ))
}

fn failures(collector: &Collector) -> String {
    let total = collector.failed();
    if collector.runs.len() < 2 {
        return format!("{total} failed");
    }
    let each: Vec<String> = collector
        .runs
        .iter()
        .map(|r| format!("{} {}", r.data.cluster, r.failed()))
        .collect();
    format!("{total} failed ({})", each.join(", "))
}

fn ms(value: i64) -> String {
    format_duration(Duration::from_millis(value.max(0) as u64))
}

impl Phases<'_> {
    pub async fn run(mut self, fault: &mut Option<Injected>) -> Result<Collected, DrillError> {
        let (plan, options, timings) = (self.plan, self.options, self.timings);
        let (target, duration) = (plan.cluster.as_str(), options.duration);
        let service = options.service();
        let probers: Vec<&str> = plan.probers.iter().map(|p| p.cluster.as_str()).collect();
        self.feedback.note(&format!(
            "probing {service} from {} at {}/s each",
            probers.join(", "),
            options.rate
        ));
        let start_ms = now_unix_ms();
        let refused = |problems| DrillError::Refused {
            context: plan.context.clone(),
            service: service.clone(),
            problems,
        };
        let mut collector = Collector::start(
            &plan.probers,
            &options.namespace,
            &options.name,
            options.rate,
            timings.probe_run(duration),
            Instant::now() + options.timeout,
            refused,
        )
        .await?;

        let started = Instant::now();
        let counted = |c: &Collector| c.runs.iter().all(|r| r.samples() >= 2);
        let ready = self
            .until(
                &mut collector,
                Stage::Baseline,
                started + timings.baseline + timings.sample_grace,
                |c| started.elapsed() >= timings.baseline && counted(c),
                |c| {
                    let probes: usize = c.runs.iter().map(|r| r.data.series.probes.len()).sum();
                    format!(
                        "baseline {}: {probes} probes, {}",
                        format_duration(started.elapsed()),
                        failures(c)
                    )
                },
            )
            .await?;
        if !ready && let Some(run) = collector.runs.iter().find(|r| r.samples() < 2) {
            return Err(run.failure(
                "reports no load-balancer counters, so which cluster serves the probes is unknown",
            ));
        }

        let ttl = timings.fault_ttl(duration);
        self.feedback.note(&format!(
            "injecting a {} fault into cluster {target} ({service}); it lifts by itself after {} at the latest",
            options.fault,
            format_duration(ttl)
        ));
        let fault_ms = now_unix_ms();
        let injected = plan
            .target
            .inject_fault(
                options
                    .fault
                    .request(&options.namespace, &options.name, ttl),
            )
            .await?;
        *fault = Some(Injected {
            id: injected.fault_id,
            expires_unix_ms: injected.expires_unix_ms,
        });
        let fault_at = Instant::now();
        let stable = timings.stable;
        let recovered = self
            .until(
                &mut collector,
                Stage::Fault,
                fault_at + duration,
                |c| live(c, start_ms, fault_ms, None, target, stable).is_some_and(|f| f.recovered),
                |c| {
                    let elapsed = format_duration(fault_at.elapsed());
                    match live(c, start_ms, fault_ms, None, target, stable).and_then(|f| f.rto_ms.map(|r| (r, f.clean_for_ms))) {
                        Some((rto, clean)) => format!(
                            "fault {elapsed}: served outside {target} since {} after the fault, stable for {} of {}; {}",
                            ms(rto),
                            ms(clean),
                            format_duration(stable),
                            failures(c)
                        ),
                        None => format!(
                            "fault {elapsed}: waiting for every probe to be served outside {target}; {} so far",
                            failures(c)
                        ),
                    }
                },
            )
            .await?;
        if !recovered {
            self.feedback.note(&format!(
                "did not recover within {}",
                format_duration(duration)
            ));
        }

        let restore_ms = now_unix_ms();
        restore(plan, fault, options.timeout, self.feedback).await?;
        let restored_at = Instant::now();
        if recovered {
            let returned = |c: &Collector| {
                live(c, start_ms, fault_ms, Some(restore_ms), target, stable)
                    .is_some_and(|f| f.returned_ms.is_some())
            };
            let back = self
                .until(
                    &mut collector,
                    Stage::Failback,
                    restored_at + duration,
                    returned,
                    |c| {
                        format!(
                            "restored {}: waiting for traffic to return to {target}; {} so far",
                            format_duration(restored_at.elapsed()),
                            failures(c)
                        )
                    },
                )
                .await?;
            if back {
                let tail_end = Instant::now() + timings.tail;
                self.until(
                    &mut collector,
                    Stage::Failback,
                    tail_end,
                    |_| false,
                    |c| {
                        format!(
                            "restored {}: traffic is back on {target}; {} so far",
                            format_duration(restored_at.elapsed()),
                            failures(c)
                        )
                    },
                )
                .await?;
            } else {
                self.feedback.note(&format!(
                    "traffic did not return to {target} within {}",
                    format_duration(duration)
                ));
            }
        }

        let stop_ms = now_unix_ms();
        self.until(
            &mut collector,
            Stage::Drain,
            Instant::now() + timings.drain,
            |c| c.complete_before(stop_ms),
            |_| "stopping: collecting the probes still in flight".to_owned(),
        )
        .await?;
        let warnings = collector.clock_warnings();
        Ok(Collected {
            marks: Marks {
                start_ms,
                fault_ms,
                restore_ms: Some(restore_ms),
                end_ms: stop_ms,
                judged_until_ms: None,
            },
            fault_id: injected.fault_id,
            fault_ttl: ttl,
            probers: collector.into_data(),
            warnings,
        })
    }

    /// Collects reports until `done` holds (`Ok(true)`) or `deadline` (`Ok(false)`),
    /// showing `line` as progress. A stalled run, or one that ended while still
    /// needed, is an error.
    async fn until(
        &mut self,
        collector: &mut Collector,
        stage: Stage,
        deadline: Instant,
        mut done: impl FnMut(&Collector) -> bool,
        mut line: impl FnMut(&Collector) -> String,
    ) -> Result<bool, DrillError> {
        let mut next_check = Instant::now();
        loop {
            let now = Instant::now();
            if now >= next_check {
                next_check = now + self.timings.tick;
                if done(collector) {
                    return Ok(true);
                }
                collector.check_stalled(self.timings.stall)?;
                if stage != Stage::Drain {
                    collector.check_running()?;
                }
                self.progress(stage, &line(collector));
            }
            if now >= deadline {
                return Ok(false);
            }
            let wake = next_check.min(deadline);
            tokio::select! {
                added = collector.next() => added?,
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Progress, at most once per `progress_every` within a stage.
    fn progress(&mut self, stage: Stage, line: &str) {
        let due = match self.last_progress {
            Some((last, at)) => last != stage || at.elapsed() >= self.options.progress_every,
            None => true,
        };
        if due {
            self.feedback.progress(line);
            self.last_progress = Some((stage, Instant::now()));
        }
    }
}
