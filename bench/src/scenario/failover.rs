//! **failover**: `ctl drill failover` repeated on the multicloud example, both fault
//! kinds alternated and the target cloud rotated, each drill under 50 probes/s from every
//! other cloud (a new TCP connection per probe). The issue names no baseline: the
//! targets are absolute (backends fault p50 ≤ 500 ms and max ≤ 1 s; cluster fault max ≤
//! the peer timeout + 1 s).

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{
    demo::Demo,
    record::{Record, Target},
    stats::Summary,
};

const CLOUDS: [&str; 3] = ["aws", "gcp", "onprem"];
const KINDS: [&str; 2] = ["backends", "cluster"];
/// The demo's `--peer-timeout` (examples/multicloud/lib/common.sh).
const PEER_TIMEOUT_MS: f64 = 1000.0;
/// Drills of each kind; `CLUSTERMESH_BENCH_DRILLS` overrides.
const DRILLS: usize = 20;

pub fn run() -> anyhow::Result<Record> {
    let drills = match std::env::var("CLUSTERMESH_BENCH_DRILLS") {
        Ok(n) => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("CLUSTERMESH_BENCH_DRILLS={n:?} is not a positive count"))?,
        Err(_) => DRILLS,
    };
    let demo = Demo::up()?;
    let mut outcomes: Vec<Outcome> = Vec::new();
    for round in 0..drills {
        for kind in KINDS {
            let target = CLOUDS[outcomes.len() % CLOUDS.len()];
            let report = demo.ctl_json(&[
                "drill",
                "failover",
                "--context",
                target,
                "--service",
                "default/echo",
                "--fault",
                kind,
                "--duration",
                "20s",
            ])?;
            let outcome = Outcome::of(kind, target, &report);
            eprintln!(
                "drill {}/{} {kind} on {target}: {}",
                round + 1,
                drills,
                report["verdict"].as_str().unwrap_or("no verdict")
            );
            outcomes.push(outcome);
        }
    }
    drop(demo);
    Ok(record(drills, &outcomes))
}

/// What one drill's JSON report says.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    kind: &'static str,
    target: &'static str,
    rto_ms: Option<f64>,
    first_served_elsewhere_ms: Option<f64>,
    failback_ms: Option<f64>,
    failed_probes: u64,
    sent_probes: u64,
    accounted: bool,
}

impl Outcome {
    fn of(kind: &'static str, target: &'static str, report: &Value) -> Self {
        let probes = &report["probes"];
        Self {
            kind,
            target,
            rto_ms: report["rto_ms"].as_f64(),
            first_served_elsewhere_ms: report["first_served_elsewhere_ms"].as_f64(),
            failback_ms: report["failback_ms"].as_f64(),
            failed_probes: probes["failed"].as_u64().unwrap_or(0),
            sent_probes: probes["sent"].as_u64().unwrap_or(0),
            accounted: probes["accounted"].as_bool() == Some(true),
        }
    }
}

fn record(drills: usize, outcomes: &[Outcome]) -> Record {
    let mut record = Record::new(
        "failover",
        json!({
            "drills_per_kind": drills,
            "kinds": KINDS,
            "targets": CLOUDS,
            "service": "default/echo",
            "probes_per_second_per_cloud": 50,
            "peer_timeout_ms": PEER_TIMEOUT_MS,
            "bucket_ms": 100,
        }),
    );
    let mut figures = serde_json::Map::new();
    for kind in KINDS {
        let of_kind: Vec<&Outcome> = outcomes.iter().filter(|o| o.kind == kind).collect();
        let figure = KindFigures::of(&of_kind);
        record.summary_lines.push(figure.line(kind));
        match kind {
            "backends" => {
                record.targets.push(Target::at_most(
                    "backends fault RTO p50",
                    figure.rto.map(|s| s.p50),
                    500.0,
                    "ms",
                ));
                record.targets.push(Target::at_most(
                    "backends fault RTO max",
                    figure.worst_rto(),
                    1000.0,
                    "ms",
                ));
            }
            _ => record.targets.push(Target::at_most(
                "cluster fault RTO max (peer timeout + 1 s)",
                figure.worst_rto(),
                PEER_TIMEOUT_MS + 1000.0,
                "ms",
            )),
        }
        figures.insert(kind.to_owned(), figure.json());
    }
    record.figures = Value::Object(figures);
    record.notes.push(
        "RTO is the start of the first 100 ms bucket, aligned to the fault, from which no \
         probe failed and no connection went to the faulted cloud (docs/cli.md); 0 means \
         within the first bucket"
            .into(),
    );
    record
}

/// One fault kind's drills.
struct KindFigures {
    drills: usize,
    not_recovered: usize,
    rto: Option<Summary>,
    first_served_elsewhere: Option<Summary>,
    failback: Option<Summary>,
    failed_probes: u64,
    sent_probes: u64,
    unaccounted_drills: usize,
    per_drill: Vec<Value>,
}

impl KindFigures {
    fn of(outcomes: &[&Outcome]) -> Self {
        let of = |f: fn(&Outcome) -> Option<f64>| {
            Summary::of(&outcomes.iter().filter_map(|o| f(o)).collect::<Vec<_>>())
        };
        Self {
            drills: outcomes.len(),
            not_recovered: outcomes.iter().filter(|o| o.rto_ms.is_none()).count(),
            rto: of(|o| o.rto_ms),
            first_served_elsewhere: of(|o| o.first_served_elsewhere_ms),
            failback: of(|o| o.failback_ms),
            failed_probes: outcomes.iter().map(|o| o.failed_probes).sum(),
            sent_probes: outcomes.iter().map(|o| o.sent_probes).sum(),
            unaccounted_drills: outcomes.iter().filter(|o| !o.accounted).count(),
            per_drill: outcomes
                .iter()
                .map(|o| {
                    json!({
                        "target": o.target,
                        "rto_ms": o.rto_ms,
                        "first_served_elsewhere_ms": o.first_served_elsewhere_ms,
                        "failback_ms": o.failback_ms,
                        "failed_probes": o.failed_probes,
                        "sent_probes": o.sent_probes,
                        "accounted": o.accounted,
                    })
                })
                .collect(),
        }
    }

    /// The worst RTO; a drill that never recovered has none, so there is no bound.
    fn worst_rto(&self) -> Option<f64> {
        if self.not_recovered > 0 {
            return None;
        }
        self.rto.map(|s| s.max)
    }

    fn line(&self, kind: &str) -> String {
        let ms = |s: Option<Summary>| {
            s.map_or_else(
                || "none".into(),
                |s| format!("p50 {} / p99 {} / max {} ms", s.p50, s.p99, s.max),
            )
        };
        format!(
            "{kind} fault, {} drills ({} not recovered): RTO {}; first served elsewhere {}; \
             failback {}; failed probes {} of {} ({} drills with probes unaccounted for)",
            self.drills,
            self.not_recovered,
            ms(self.rto),
            ms(self.first_served_elsewhere),
            ms(self.failback),
            self.failed_probes,
            self.sent_probes,
            self.unaccounted_drills
        )
    }

    fn json(&self) -> Value {
        json!({
            "drills": self.drills,
            "not_recovered": self.not_recovered,
            "rto_ms": self.rto,
            "first_served_elsewhere_ms": self.first_served_elsewhere,
            "failback_ms": self.failback,
            "failed_probes": self.failed_probes,
            "sent_probes": self.sent_probes,
            "drills_with_unaccounted_probes": self.unaccounted_drills,
            "per_drill": self.per_drill,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rto: Value, failed: u64) -> Value {
        json!({
            "rto_ms": rto,
            "first_served_elsewhere_ms": 100,
            "failback_ms": 0,
            "probes": {"sent": 500, "failed": failed, "accounted": true},
        })
    }

    #[test]
    fn targets_follow_the_drills_and_an_unrecovered_drill_misses_them() {
        let outcomes = [
            Outcome::of("backends", "aws", &report(json!(100), 0)),
            Outcome::of("backends", "gcp", &report(json!(300), 2)),
            Outcome::of("cluster", "onprem", &report(json!(900), 0)),
            Outcome::of("cluster", "aws", &report(Value::Null, 40)),
        ];
        let r = record(2, &outcomes);
        let met: Vec<(String, bool)> = r.targets.iter().map(|t| (t.name.clone(), t.met)).collect();
        assert_eq!(
            met,
            [
                ("backends fault RTO p50".to_owned(), true),
                ("backends fault RTO max".to_owned(), true),
                (
                    "cluster fault RTO max (peer timeout + 1 s)".to_owned(),
                    false
                ),
            ]
        );
        assert_eq!(r.figures["backends"]["failed_probes"], 2);
        assert_eq!(r.figures["backends"]["rto_ms"]["max"], 300.0);
        assert_eq!(r.figures["cluster"]["not_recovered"], 1);
        assert_eq!(r.figures["cluster"]["rto_ms"]["count"], 1);
    }
}
