//! **agent-memory**: the resident memory of a real `node-agent` (the release binary,
//! its WireGuard device, routes and nftables executors all running) as its merged view
//! grows: empty, then 10,000 global services of a connected cluster, then 100k and 1M
//! of that cluster's endpoints. Figure: (RSS − RSS when empty) / endpoints. Target:
//! ≤ 300 bytes per endpoint. The issue names no baseline; for scale, a published
//! Cilium design proposal reports 15 GiB per agent at 3M remote endpoints.
//!
//! The agent needs a node of its own, so the whole scenario runs in a network
//! namespace made here (`__agent-memory`): the two apiservers in the bench process, the
//! agent beside them, talking over that namespace's loopback.

mod worker;

use anyhow::Context as _;
use serde_json::json;

use crate::record::{Record, Target};

pub use worker::run as worker;

/// Remote endpoints at each measured step.
const ENDPOINTS: [u32; 2] = [100_000, 1_000_000];
const SERVICES: u32 = 10_000;
/// Backends per global service, so the nft maps stay the size lb-scale measures.
const BACKENDS: usize = 4;

/// One measured state of the agent.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub name: String,
    pub endpoints: u32,
    pub services: u32,
    pub rss_bytes: u64,
    /// The process's peak so far (VmHWM).
    pub peak_bytes: u64,
    /// From the source publishing the state to the agent's view holding it.
    pub converged_ms: u64,
}

pub fn run() -> anyhow::Result<Record> {
    let ns = Namespace::create()?;
    let exe = std::env::current_exe().context("locating clustermesh-bench")?;
    let output = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(exe)
        .arg("__agent-memory")
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running the agent-memory worker")?;
    drop(ns);
    anyhow::ensure!(
        output.status.success(),
        "the agent-memory worker failed ({})",
        output.status
    );
    let steps: Vec<Step> =
        serde_json::from_slice(&output.stdout).context("the worker's JSON result")?;
    Ok(record(&steps))
}

/// A namespace with only loopback, deleted on drop.
struct Namespace(String);

impl Namespace {
    fn create() -> anyhow::Result<Self> {
        let ns = Self(format!("cmb-mem-{}", std::process::id()));
        run_ip(&["netns", "add", &ns.0])?;
        run_ip(&["-n", &ns.0, "link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.0])
            .status();
    }
}

fn run_ip(args: &[&str]) -> anyhow::Result<()> {
    let status = std::process::Command::new("ip")
        .args(args)
        .status()
        .with_context(|| format!("ip {}", args.join(" ")))?;
    anyhow::ensure!(status.success(), "ip {} failed ({status})", args.join(" "));
    Ok(())
}

fn record(steps: &[Step]) -> Record {
    let mut record = Record::new(
        "agent-memory",
        json!({
            "remote_endpoints": ENDPOINTS,
            "global_services": SERVICES,
            "backends_per_service": BACKENDS,
            "agent": "node-agent release binary, userspace WireGuard (wireguard-go), nftables, in its own namespace",
        }),
    );
    record.figures = json!(steps);
    let empty = steps.first().map_or(0, |s| s.rss_bytes);
    let services_only = steps.iter().find(|s| s.endpoints == 0 && s.services > 0);
    for step in steps {
        record.summary_lines.push(format!(
            "{:<22} RSS {:>7.1} MiB (peak {:>7.1} MiB), converged in {} ms",
            step.name,
            step.rss_bytes as f64 / 1048576.0,
            step.peak_bytes as f64 / 1048576.0,
            step.converged_ms
        ));
    }
    for step in steps.iter().filter(|s| s.endpoints > 0) {
        let per_endpoint = step.rss_bytes.saturating_sub(empty) as f64 / f64::from(step.endpoints);
        record.summary_lines.push(format!(
            "{} endpoints: {per_endpoint:.0} bytes per endpoint (the 10k services included)",
            step.endpoints
        ));
        record.targets.push(Target::at_most(
            &format!("bytes per remote endpoint at {}", step.endpoints),
            Some(per_endpoint.round()),
            300.0,
            "bytes",
        ));
        if let Some(services) = services_only {
            let net = step.rss_bytes.saturating_sub(services.rss_bytes) as f64
                / f64::from(step.endpoints);
            record.notes.push(format!(
                "{} endpoints without the services' share: {net:.0} bytes per endpoint",
                step.endpoints
            ));
        }
    }
    record
}
