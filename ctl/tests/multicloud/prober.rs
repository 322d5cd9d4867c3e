//! Continuous probe traffic from a pod (`prober.py`, beside this file): a new TCP
//! connection and HTTP GET per target every 10 ms, each in its own thread, every result
//! one JSON line in a file the test reads while probing goes on.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    demo::{Demo, VIP},
    wait,
};

const SCRIPT: &str = include_str!("prober.py");
/// One probe per target this often.
pub const PERIOD: Duration = Duration::from_millis(10);
/// A probe that has not completed by then fails. Longer than Linux's first SYN
/// retransmission (1 s), so one packet lost on a loaded machine delays a probe the way it
/// delays any TCP client, instead of failing it; such probes show as slow (`SLOW`).
pub const TIMEOUT: Duration = Duration::from_millis(2500);
/// A probe this slow needed a retransmission: something dropped a packet on its path.
pub const SLOW: Duration = Duration::from_millis(900);

/// One finished probe.
#[derive(Debug, Clone)]
pub struct Probe {
    pub target: String,
    /// When it started, in seconds since the epoch.
    pub start: f64,
    pub ms: f64,
    /// The connection's source port, to find its conntrack entry.
    pub port: Option<u16>,
    /// The body's first line (`echo-aws-1 in aws`), or why it failed.
    pub result: Result<String, String>,
}

impl Probe {
    /// Answered, but only after a retransmission.
    pub fn is_slow(&self) -> bool {
        self.result.is_ok() && self.ms >= SLOW.as_secs_f64() * 1000.0
    }

    /// The cloud whose echo pod answered.
    pub fn cloud(&self) -> Option<&str> {
        self.result
            .as_deref()
            .ok()?
            .rsplit_once(" in ")
            .map(|(_, c)| c)
    }
}

pub struct Prober {
    pub what: String,
    child: Option<Child>,
    out: PathBuf,
    stop: PathBuf,
}

impl Prober {
    /// Starts probing `targets` (`host:port[:path]`) from `cloud`'s client pod.
    pub fn start(demo: &Demo, cloud: &str, targets: &[String]) -> Self {
        let name = format!("prober-{cloud}");
        let script = demo.scratch.join("prober.py");
        std::fs::write(&script, SCRIPT).expect("write prober.py");
        let out = demo.scratch.join(format!("{name}.jsonl"));
        let stop = demo.scratch.join(format!("{name}.stop"));
        let _ = std::fs::remove_file(&stop);
        let python = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let (script_s, stop_s) = (path(&script), path(&stop));
        let (period, timeout) = (
            PERIOD.as_secs_f64().to_string(),
            TIMEOUT.as_secs_f64().to_string(),
        );
        let mut args = vec![python, "-u", &script_s, &stop_s, &period, &timeout];
        args.extend(targets.iter().map(String::as_str));
        let mut all = vec!["exec", cloud, "client", "--"];
        all.extend(args);
        let mut cmd: Command = demo.command(&all);
        let log = File::create(&out).expect("the prober's output file");
        let err = File::create(demo.scratch.join(format!("{name}.err"))).expect("stderr file");
        // `demo.sh exec` execs `ip netns exec`, which execs python: the PID is the
        // prober's own.
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the prober in {cloud}: {e}"));
        Self {
            what: format!("the prober in {cloud}'s client pod"),
            child: Some(child),
            out,
            stop,
        }
    }

    /// Every probe finished so far.
    pub fn probes(&mut self) -> Vec<Probe> {
        self.assert_running();
        read(&self.out)
    }

    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().expect("try_wait")
        {
            let err = std::fs::read_to_string(self.out.with_extension("err")).unwrap_or_default();
            panic!("{} exited early ({status}):\n{err}", self.what);
        }
    }

    /// Waits until every target has answered `n` times, the VIP from every cloud in
    /// `clouds`, and panics if a probe fails meanwhile.
    pub fn wait_warm(&mut self, n: usize, clouds: &[&str], within: Duration) {
        let what = format!("{} warms up", self.what);
        wait::until(within, &what, || {
            let probes = self.probes();
            if let Some(failed) = probes.iter().find(|p| p.result.is_err()) {
                panic!("{}: a probe failed before any fault: {failed:?}", self.what);
            }
            let by_target = tally(&probes);
            let missing: Vec<String> = by_target
                .iter()
                .filter(|(_, t)| {
                    t.ok < n || (t.is_vip() && !clouds.iter().all(|c| t.clouds.contains(*c)))
                })
                .map(|(target, t)| format!("{target}: {t:?}"))
                .collect();
            match (by_target.is_empty(), missing.is_empty()) {
                (false, true) => Ok(()),
                _ => Err(format!("{by_target:?}")),
            }
        })
    }

    /// Waits until a probe started at or after `epoch` (seconds) has finished, for every
    /// target.
    pub fn wait_probed_after(&mut self, epoch: f64, within: Duration) {
        let what = format!("{} probes on", self.what);
        wait::until(within, &what, || {
            let probes = self.probes();
            let targets: BTreeSet<&str> = probes.iter().map(|p| p.target.as_str()).collect();
            let behind: Vec<&str> = targets
                .into_iter()
                .filter(|t| !probes.iter().any(|p| p.target == *t && p.start >= epoch))
                .collect();
            if behind.is_empty() {
                Ok(())
            } else {
                Err(format!("no probe after {epoch} yet to {behind:?}"))
            }
        })
    }

    /// Stops starting probes, waits for those in flight, and returns every probe.
    pub fn finish(mut self) -> Vec<Probe> {
        std::fs::write(&self.stop, b"").expect("write the stop file");
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + TIMEOUT + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                assert!(status.success(), "{} failed: {status}", self.what);
                break;
            }
            if Instant::now() >= deadline {
                kill(&mut child);
                panic!("{} did not stop within 10 s of its stop file", self.what);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        read(&self.out)
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill(&mut child);
        }
    }
}

/// Our own child, by its PID.
fn kill(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Per target: successes, failures, and the clouds that answered.
#[derive(Debug, Default)]
pub struct Tally {
    pub target: String,
    pub ok: usize,
    pub failed: usize,
    pub clouds: BTreeSet<String>,
    /// The slowest successful probe, in milliseconds.
    pub slowest_ms: f64,
}

impl Tally {
    /// The global service's VIP (the other targets are pod IPs).
    pub fn is_vip(&self) -> bool {
        self.target.split(':').next() == Some(VIP)
    }
}

pub fn tally(probes: &[Probe]) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for p in probes {
        let t = out.entry(p.target.clone()).or_insert_with(|| Tally {
            target: p.target.clone(),
            ..Tally::default()
        });
        match p.cloud() {
            Some(cloud) => {
                t.ok += 1;
                t.clouds.insert(cloud.to_owned());
                t.slowest_ms = t.slowest_ms.max(p.ms);
            }
            None => t.failed += 1,
        }
    }
    out
}

/// The complete lines of the prober's output.
fn read(out: &PathBuf) -> Vec<Probe> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|v| Probe {
            target: v["target"].as_str().unwrap_or_default().to_owned(),
            start: v["start"].as_f64().unwrap_or_default(),
            ms: v["ms"].as_f64().unwrap_or_default(),
            port: v["port"].as_u64().and_then(|p| u16::try_from(p).ok()),
            result: match v["answer"].as_str() {
                Some(answer) => Ok(answer.to_owned()),
                None => Err(v["error"].as_str().unwrap_or("?").to_owned()),
            },
        })
        .collect()
}

fn path(p: &std::path::Path) -> String {
    p.to_str().expect("a UTF-8 path").to_owned()
}
