//! **tunnel**: iperf3 between pods of two clusters through the agent-configured
//! WireGuard tunnel, against the same WireGuard implementation configured by hand with
//! `wg` and `ip route`, and the raw veth path between the two nodes (this machine's
//! physical limit). Target: agent / hand ≥ 0.95, for each userspace implementation the
//! agent can run (wireguard-go, its default, and boringtun-cli).
//!
//! The measurement is node-agent's dataplane benchmark (its two-cluster namespace
//! topology lives with the agent's end-to-end tests), run here through `cargo bench`
//! with `CLUSTERMESH_DATAPLANE_JSON`, which makes it write its medians as JSON.

use std::{path::PathBuf, process::Command};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{
    demo::workspace_root,
    record::{Baseline, Ratio, Record, Target},
};

/// Where `make bench` installs boringtun-cli (`cargo install --root`).
fn bench_tools_bin() -> PathBuf {
    workspace_root().join("target/bench-tools/bin")
}

pub fn run() -> anyhow::Result<Record> {
    let tools = bench_tools_bin();
    anyhow::ensure!(
        tools.join("boringtun-cli").is_file(),
        "{} is missing: `make bench-tools` installs it",
        tools.join("boringtun-cli").display()
    );
    let path = std::env::join_paths(std::iter::once(tools).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))?;
    let out = tempfile::NamedTempFile::new()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["bench", "-q", "-p", "node-agent", "--bench", "dataplane"])
        .current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_run) {
            command.env_remove(&name);
        }
    }
    let status = command
        .env("CLUSTERMESH_DATAPLANE_JSON", out.path())
        .env("PATH", path)
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

/// What `cargo run` sets for this harness, which the `cargo bench` it starts must not
/// inherit: ring's build script reruns when `CARGO_MANIFEST_DIR` changes, and with it
/// everything above ring, so `make bench` rebuilt the release binaries twice a run.
fn set_by_cargo_run(name: &str) -> bool {
    [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

/// One implementation's medians, from the benchmark's JSON.
struct Implementation<'a> {
    name: &'a str,
    agent: f64,
    hand: f64,
    runs: &'a Value,
}

fn implementations(result: &Value) -> anyhow::Result<Vec<Implementation<'_>>> {
    let list = result["implementations"]
        .as_array()
        .context("implementations in the dataplane result")?;
    list.iter()
        .map(|i| {
            let figure = |name: &str| {
                i[name]
                    .as_f64()
                    .with_context(|| format!("{name} of an implementation in the dataplane result"))
            };
            Ok(Implementation {
                name: i["implementation"]
                    .as_str()
                    .context("an implementation's name in the dataplane result")?,
                agent: figure("agent_mbit_s")?,
                hand: figure("hand_mbit_s")?,
                runs: &i["runs_mbit_s"],
            })
        })
        .collect()
}

fn record(result: &Value) -> anyhow::Result<Record> {
    let raw = result["raw_veth_mbit_s"]
        .as_f64()
        .context("raw_veth_mbit_s in the dataplane result")?;
    let implementations = implementations(result)?;
    anyhow::ensure!(
        !implementations.is_empty(),
        "the dataplane result names no implementation"
    );
    let mut record = Record::new(
        "tunnel",
        json!({
            "implementations": implementations.iter().map(|i| i.name).collect::<Vec<_>>(),
            "runs_each": result["runs_each"],
            "iperf_seconds": result["iperf_seconds"],
            "topology": "node-agent e2e: two clusters, one node each, pods on veths, namespaces",
        }),
    );
    let mut figures = serde_json::Map::new();
    let mut baseline = serde_json::Map::new();
    for i in &implementations {
        figures.insert(format!("{}_agent_mbit_s", i.name), json!(i.agent));
        figures.insert(
            format!("{}_agent_runs_mbit_s", i.name),
            i.runs["agent"].clone(),
        );
        baseline.insert(format!("{}_hand_mbit_s", i.name), json!(i.hand));
        baseline.insert(
            format!("{}_hand_runs_mbit_s", i.name),
            i.runs["hand"].clone(),
        );
        let ratio = i.agent / i.hand;
        record.ratios.push(Ratio {
            name: format!("{}: agent / hand", i.name),
            value: ratio,
        });
        record.ratios.push(Ratio {
            name: format!("{}: agent / raw veth", i.name),
            value: i.agent / raw,
        });
        record.targets.push(Target::at_least(
            &format!("{}: agent / hand throughput", i.name),
            Some((ratio * 1000.0).round() / 1000.0),
            0.95,
            "",
        ));
        record.summary_lines.push(format!(
            "{}: agent {:.0} Mbit/s, by hand {:.0} Mbit/s (medians), agent / hand {ratio:.3}",
            i.name, i.agent, i.hand
        ));
    }
    figures.insert(
        "rule_latency_ms_p50_p99_max".into(),
        result["rule_latency_ms"].clone(),
    );
    baseline.insert("raw_veth_mbit_s".into(), json!(raw));
    baseline.insert(
        "raw_veth_runs_mbit_s".into(),
        result["raw_veth_runs_mbit_s"].clone(),
    );
    record.figures = Value::Object(figures);
    record.baseline = Some(Baseline {
        name: "the same userspace implementation configured by hand (wg, ip route); raw veth \
               node to node"
            .into(),
        figures: Value::Object(baseline),
    });
    record
        .summary_lines
        .push(format!("raw veth, node to node: {raw:.0} Mbit/s (median)"));
    record.notes.push(
        "userspace implementations side by side: wireguard-go and boringtun-cli, each run \
         by the agent (--wireguard-userspace) and by hand; boringtun in-process was not \
         tried: the agent keeps the device in a process of its own so that it outlives an \
         agent restart"
            .into(),
    );
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implementation_gets_its_ratio_and_target() {
        let result = json!({
            "runs_each": 4,
            "iperf_seconds": "4",
            "raw_veth_mbit_s": 10000.0,
            "raw_veth_runs_mbit_s": [10000.0],
            "rule_latency_ms": [1.0, 2.0, 3.0],
            "implementations": [
                {"implementation": "wireguard-go", "agent_mbit_s": 380.0, "hand_mbit_s": 400.0,
                 "runs_mbit_s": {"agent": [380.0], "hand": [400.0]}},
                {"implementation": "boringtun", "agent_mbit_s": 300.0, "hand_mbit_s": 400.0,
                 "runs_mbit_s": {"agent": [300.0], "hand": [400.0]}},
            ],
        });
        let r = record(&result).expect("a valid result");
        let met: Vec<(&str, bool)> = r.targets.iter().map(|t| (t.name.as_str(), t.met)).collect();
        assert_eq!(
            met,
            [
                ("wireguard-go: agent / hand throughput", true),
                ("boringtun: agent / hand throughput", false),
            ]
        );
        assert_eq!(r.figures["boringtun_agent_mbit_s"], 300.0);
        assert_eq!(
            r.baseline.expect("baseline").figures["wireguard-go_hand_mbit_s"],
            400.0
        );
    }

    #[test]
    fn the_nested_cargo_loses_only_what_cargo_run_set() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_VERSION",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            assert!(set_by_cargo_run(name), "{name}");
        }
        for name in ["CARGO_HOME", "CARGO_TARGET_DIR", "PATH", "RUSTFLAGS"] {
            assert!(!set_by_cargo_run(name), "{name}");
        }
    }

    #[test]
    fn a_result_without_implementations_is_an_error() {
        let result = json!({"raw_veth_mbit_s": 1.0, "implementations": []});
        assert!(record(&result).is_err());
    }
}
