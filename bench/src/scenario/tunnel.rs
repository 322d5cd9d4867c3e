//! **tunnel**: iperf3 between pods of two clusters through the agent-configured
//! WireGuard tunnel, against the same WireGuard implementation configured by hand with
//! `wg` and `ip route`, and the raw veth path between the two nodes (this machine's
//! physical limit). Target: agent / hand ≥ 0.95.
//!
//! The measurement is node-agent's dataplane benchmark (its two-cluster namespace
//! topology lives with the agent's end-to-end tests), run here through `cargo bench`
//! with `CLUSTERMESH_DATAPLANE_JSON`, which makes it write its medians as JSON.

use std::process::Command;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{
    demo::workspace_root,
    record::{Baseline, Ratio, Record, Target},
};

pub fn run() -> anyhow::Result<Record> {
    let out = tempfile::NamedTempFile::new()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["bench", "-q", "-p", "node-agent", "--bench", "dataplane"])
        .current_dir(workspace_root())
        .env("CLUSTERMESH_DATAPLANE_JSON", out.path())
        .status()
        .with_context(|| format!("running {cargo} bench -p node-agent --bench dataplane"))?;
    anyhow::ensure!(
        status.success(),
        "the dataplane benchmark failed ({status})"
    );
    let text = std::fs::read_to_string(out.path())?;
    let result: Value = serde_json::from_str(&text).context("the dataplane benchmark's JSON")?;
    record(&result)
}

fn record(result: &Value) -> anyhow::Result<Record> {
    let figure = |name: &str| {
        result[name]
            .as_f64()
            .with_context(|| format!("{name} in the dataplane result"))
    };
    let (agent, hand, raw) = (
        figure("agent_mbit_s")?,
        figure("hand_mbit_s")?,
        figure("raw_veth_mbit_s")?,
    );
    let mut record = Record::new(
        "tunnel",
        json!({
            "implementation": result["implementation"],
            "runs_each": result["runs_each"],
            "iperf_seconds": result["iperf_seconds"],
            "topology": "node-agent e2e: two clusters, one node each, pods on veths, namespaces",
        }),
    );
    record.figures = json!({
        "agent_mbit_s": agent,
        "runs_mbit_s": result["runs_mbit_s"]["agent"],
        "rule_latency_ms_p50_p99_max": result["rule_latency_ms"],
    });
    record.baseline = Some(Baseline {
        name: "the same wireguard-go configured by hand (wg, ip route); raw veth node to node"
            .into(),
        figures: json!({
            "hand_mbit_s": hand,
            "raw_veth_mbit_s": raw,
            "runs_mbit_s": {"hand": result["runs_mbit_s"]["hand"], "raw_veth": result["runs_mbit_s"]["raw_veth"]},
        }),
    });
    let ratio = agent / hand;
    record.ratios.push(Ratio {
        name: "agent / hand".into(),
        value: ratio,
    });
    record.ratios.push(Ratio {
        name: "agent / raw veth".into(),
        value: agent / raw,
    });
    record.targets.push(Target::at_least(
        "agent / hand throughput",
        Some((ratio * 1000.0).round() / 1000.0),
        0.95,
        "",
    ));
    record.summary_lines.push(format!(
        "agent {agent:.0} Mbit/s, by hand {hand:.0} Mbit/s, raw veth {raw:.0} Mbit/s (medians)"
    ));
    record.notes.push(
        "userspace implementations: wireguard-go only (the agent's userspace backend); \
         boringtun was not tried: the agent has no boringtun backend"
            .into(),
    );
    Ok(record)
}
