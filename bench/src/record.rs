//! One scenario's result: its figures, its baseline's figures from the same run, the
//! ratios between them, each target and whether it was met, and the machine. Appended as
//! one JSON line to `bench/results/latest.jsonl`.

use std::{
    fs::OpenOptions,
    io::Write as _,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::Value;

use crate::machine::Machine;

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub scenario: &'static str,
    pub unix_ms: u128,
    pub parameters: Value,
    pub figures: Value,
    /// What the baseline is, and its figures; `None` where the issue names none.
    pub baseline: Option<Baseline>,
    pub ratios: Vec<Ratio>,
    pub targets: Vec<Target>,
    /// What a reader of the figures must know (a cause found, a limit of the setup).
    pub notes: Vec<String>,
    pub machine: Machine,
    /// Human lines, printed after the run; the JSON holds the same figures.
    #[serde(skip)]
    pub summary_lines: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    pub name: String,
    pub figures: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub name: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    /// As written in the goal, e.g. "<= 500 ms".
    pub goal: String,
    pub measured: Option<f64>,
    pub met: bool,
}

impl Target {
    /// Met when measured and `measured <= bound`.
    pub fn at_most(name: &str, measured: Option<f64>, bound: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            goal: format!("<= {bound} {unit}"),
            measured,
            met: measured.is_some_and(|m| m <= bound),
        }
    }
}

impl Target {
    /// Met when measured and `measured >= bound`.
    pub fn at_least(name: &str, measured: Option<f64>, bound: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            goal: format!(">= {bound} {unit}").trim_end().to_owned(),
            measured,
            met: measured.is_some_and(|m| m >= bound),
        }
    }
}

impl Record {
    pub fn new(scenario: &'static str, parameters: Value) -> Self {
        Self {
            scenario,
            unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            parameters,
            figures: Value::Null,
            baseline: None,
            ratios: Vec::new(),
            targets: Vec::new(),
            notes: Vec::new(),
            machine: Machine::current(),
            summary_lines: Vec::new(),
        }
    }

    pub fn summary(&self) -> String {
        let mut lines = self.summary_lines.clone();
        for r in &self.ratios {
            lines.push(format!("ratio {}: {:.3}", r.name, r.value));
        }
        for t in &self.targets {
            let measured = t.measured.map_or_else(|| "none".into(), |m| format!("{m}"));
            let verdict = if t.met { "met" } else { "MISSED" };
            lines.push(format!(
                "target {}: {} (measured {measured}): {verdict}",
                t.name, t.goal
            ));
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        lines.join("\n")
    }
}

pub struct ResultsFile {
    pub path: PathBuf,
}

impl ResultsFile {
    /// `bench/results/latest.jsonl` of this workspace, wherever the binary runs from.
    pub fn default_path() -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
        Self {
            path: dir.join("latest.jsonl"),
        }
    }

    pub fn append(&self, record: &Record) -> anyhow::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .with_context(|| format!("appending to {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_target_is_met_only_when_measured_within_its_bound() {
        assert!(Target::at_most("rto", Some(500.0), 500.0, "ms").met);
        assert!(!Target::at_most("rto", Some(500.1), 500.0, "ms").met);
        assert!(!Target::at_most("rto", None, 500.0, "ms").met);
        assert!(Target::at_least("ratio", Some(0.9), 0.9, "").met);
        assert!(!Target::at_least("ratio", Some(0.89), 0.9, "").met);
        assert_eq!(Target::at_least("ratio", None, 0.9, "").goal, ">= 0.9");
    }

    #[test]
    fn records_append_one_json_line_each() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = ResultsFile {
            path: dir.path().join("nested/latest.jsonl"),
        };
        let mut record = Record::new("failover", json!({"drills": 2}));
        record
            .targets
            .push(Target::at_most("x", Some(1.0), 2.0, "ms"));
        file.append(&record).expect("first");
        file.append(&record).expect("second");
        let text = std::fs::read_to_string(&file.path).expect("written");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["scenario"], "failover");
        assert_eq!(lines[0]["parameters"]["drills"], 2);
        assert_eq!(lines[0]["targets"][0]["met"], true);
        assert!(lines[0]["machine"]["cores"].as_u64().is_some_and(|c| c > 0));
        assert!(lines[0].get("summary_lines").is_none());
    }
}
