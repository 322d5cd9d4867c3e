//! Continuous probe traffic from a pod: a Python prober (next to this file) opens one
//! new TCP connection per target every 10 ms until told to stop, and accounts for
//! every request.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use serde_json::Value;

use super::{clusters::path, processes::Spawned, wait_until};

const SCRIPT: &str = include_str!("prober.py");

pub struct Prober {
    process: Spawned,
    stop: PathBuf,
    progress: PathBuf,
}

/// What one target saw.
#[derive(Debug)]
pub struct TargetResult {
    pub ok: u64,
    pub failed: Vec<Value>,
    pub answers: BTreeMap<String, u64>,
}

impl Prober {
    /// Starts probing `targets` (`host:port:path`) from namespace `ns`.
    pub fn start(ns: &str, dir: &Path, name: &str, targets: &[String]) -> Self {
        let script = dir.join("prober.py");
        std::fs::write(&script, SCRIPT).expect("write the prober");
        let stop = dir.join(format!("{name}.stop"));
        let progress = dir.join(format!("{name}.progress"));
        let _ = std::fs::remove_file(&stop);
        let _ = std::fs::remove_file(&progress);
        let (script_s, stop_s, progress_s) = (path(&script), path(&stop), path(&progress));
        let mut args = vec!["python3", "-u", &script_s, &stop_s, &progress_s];
        args.extend(targets.iter().map(String::as_str));
        let process = Spawned::start(
            &format!("prober {name}"),
            ns,
            &args,
            &[],
            &dir.join(format!("{name}.json")),
        );
        Self {
            process,
            stop,
            progress,
        }
    }

    /// Successes per target so far.
    pub fn successes(&self) -> BTreeMap<String, u64> {
        std::fs::read_to_string(&self.progress)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Waits until every target has at least `more` successes beyond `from`.
    pub fn wait_for(&mut self, more: u64, what: &str) {
        let from = self.successes();
        wait_until(
            Duration::from_secs(30),
            Duration::from_millis(20),
            what,
            || {
                self.process.assert_running();
                let now = self.successes();
                !now.is_empty()
                    && now
                        .iter()
                        .all(|(k, n)| *n >= from.get(k).copied().unwrap_or(0) + more)
            },
        );
    }

    /// Stops probing and returns every target's account.
    pub fn finish(mut self) -> BTreeMap<String, TargetResult> {
        std::fs::write(&self.stop, b"").expect("write the stop file");
        let status = self.process.wait(Duration::from_secs(10));
        let text = self.process.log_text();
        assert!(
            status.is_some_and(|s| s.success()),
            "the prober failed ({status:?}):\n{text}"
        );
        let json: BTreeMap<String, Value> =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("prober output {e}: {text}"));
        json.into_iter()
            .map(|(target, v)| {
                let result = TargetResult {
                    ok: v["ok"].as_u64().unwrap_or(0),
                    failed: v["failed"].as_array().cloned().unwrap_or_default(),
                    answers: serde_json::from_value(v["answers"].clone()).unwrap_or_default(),
                };
                (target, result)
            })
            .collect()
    }
}
