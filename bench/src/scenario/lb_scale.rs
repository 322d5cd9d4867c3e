//! **lb-scale**: global-service load balancing with 10, 1,000 and 10,000 services
//! installed, through the agent's nftables executor and, as the baseline in the same run,
//! through plain iptables DNAT rules in a linear chain (the kube-proxy iptables model).
//! For each: the new-connection rate and latency from a client pod to one VIP (the last
//! service, the linear chain's worst case), the time to install the full set, and the
//! time to apply one backend change.

pub mod apply;
pub mod load;
mod services;
mod topology;

use std::{
    io::{BufRead as _, BufReader},
    process::Child,
    time::Duration,
};

use anyhow::{Context as _, bail};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use self::{
    apply::{ApplyResult, Balancer},
    load::LoadResult,
    services::{SERVER_PORTS, VIP_PORT},
    topology::{CLIENT_SOURCES, Topology, client_source},
};
use crate::{
    record::{Baseline, Ratio, Record, Target},
    stats::Summary,
};

const COUNTS: [usize; 3] = [10, 1_000, 10_000];
const LOAD: Duration = Duration::from_secs(2);
/// Load runs per balancer and count; the median is kept. Two cores share the client,
/// the server and the kernel's forwarding, so one run varies by ±30%.
const LOAD_RUNS: usize = 3;
const CLIENT_THREADS: usize = 2;
/// One-backend changes timed per balancer and count.
const CHANGES: u32 = 20;

pub fn run() -> anyhow::Result<Record> {
    let topo = Topology::build()?;
    let exe = std::env::current_exe().context("locating clustermesh-bench")?;
    let exe = exe.to_str().context("a UTF-8 path to clustermesh-bench")?;
    let ports: Vec<String> = SERVER_PORTS.iter().map(u16::to_string).collect();
    let mut accept_args = vec![exe, "__accept"];
    accept_args.extend(ports.iter().map(String::as_str));
    let mut server = Server(topo.spawn(&topo.server, &accept_args)?);
    server.wait_listening()?;

    let mut rows = Vec::new();
    let mut sources = (0..CLIENT_SOURCES).map(client_source);
    // The first run after the topology is built is slower whatever is installed
    // (caches, the server's first accepts): one run to the server itself, not kept.
    let warm_up = sources.next().context("a client address")?;
    topo.exec(
        &topo.client,
        &[
            exe,
            "__connect",
            &format!("{}:{}", services::SERVER_IP, SERVER_PORTS[0]),
            &LOAD.as_millis().to_string(),
            &CLIENT_THREADS.to_string(),
            &warm_up,
        ],
    )?;
    let configs: Vec<(usize, Balancer)> = COUNTS
        .into_iter()
        .flat_map(|count| [(count, Balancer::Agent), (count, Balancer::Iptables)])
        .collect();
    let install = |count: usize, balancer: Balancer, changes: u32| -> anyhow::Result<ApplyResult> {
        topo.exec(&topo.node, &["nft", "flush", "ruleset"])?;
        json_of(&topo.exec(
            &topo.node,
            &[
                exe,
                "__apply",
                balancer.name(),
                &count.to_string(),
                &changes.to_string(),
            ],
        )?)
    };
    let mut applied = Vec::new();
    for &(count, balancer) in &configs {
        applied.push(install(count, balancer, CHANGES)?);
    }
    // Every install before a load run is a full apply too: the figure is their median,
    // since one sample swings by a third on this machine.
    let mut full_runs: Vec<Vec<f64>> = applied.iter().map(|a| vec![a.full_ms]).collect();
    // Rounds over every configuration, so a drift of the machine during the run (it
    // has been seen) affects each alike.
    let mut runs: Vec<Vec<LoadResult>> = vec![Vec::new(); configs.len()];
    for _ in 0..LOAD_RUNS {
        for (i, &(count, balancer)) in configs.iter().enumerate() {
            full_runs[i].push(install(count, balancer, 0)?.full_ms);
            let target = format!("{}:{VIP_PORT}", services::vip(count - 1));
            let source = sources.next().context("a client address per load run")?;
            let load: LoadResult = json_of(&topo.exec(
                &topo.client,
                &[
                    exe,
                    "__connect",
                    &target,
                    &LOAD.as_millis().to_string(),
                    &CLIENT_THREADS.to_string(),
                    &source,
                ],
            )?)?;
            if load.connections == 0 || load.failures * 100 > load.connections {
                bail!(
                    "{} with {count} services: {} connections to {target}, {} failed",
                    balancer.name(),
                    load.connections,
                    load.failures
                );
            }
            runs[i].push(load);
        }
    }
    for (((&(count, balancer), mut applied), mut runs), full_ms_runs) in
        configs.iter().zip(applied).zip(runs).zip(full_runs)
    {
        runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
        let load = runs.swap_remove(runs.len() / 2);
        applied.full_ms = Summary::of(&full_ms_runs).map_or(f64::NAN, |s| s.p50);
        eprintln!(
            "{:>8} {count:>6} services: full apply {:.1} ms, one change p50 {:.1} ms, \
             {:.0} connections/s (median of {LOAD_RUNS}), latency p50 {:.0} µs p99 {:.0} µs",
            balancer.name(),
            applied.full_ms,
            applied.one_change_ms.map_or(f64::NAN, |s| s.p50),
            load.per_second,
            load.latency_us.map_or(f64::NAN, |s| s.p50),
            load.latency_us.map_or(f64::NAN, |s| s.p99),
        );
        rows.push(Row {
            balancer,
            count,
            applied,
            full_ms_runs,
            load,
        });
    }
    topo.exec(&topo.node, &["nft", "flush", "ruleset"])?;
    drop(server);
    let iptables_version = std::process::Command::new("iptables-restore")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    Ok(record(&rows, &iptables_version))
}

struct Row {
    balancer: Balancer,
    count: usize,
    /// Its `full_ms` is the median of `full_ms_runs`.
    applied: ApplyResult,
    full_ms_runs: Vec<f64>,
    load: LoadResult,
}

fn record(rows: &[Row], iptables_version: &str) -> Record {
    let mut record = Record::new(
        "lb-scale",
        json!({
            "service_counts": COUNTS,
            "backends_per_service": 2,
            "probed_service": "the last one installed",
            "load_seconds": LOAD.as_secs_f64(),
            "load_runs_median_of": LOAD_RUNS,
            "client_threads": CLIENT_THREADS,
            "one_backend_changes": CHANGES,
            "full_applies_median_of": LOAD_RUNS + 1,
        }),
    );
    let of = |balancer: Balancer| -> Value {
        rows.iter()
            .filter(|r| r.balancer == balancer)
            .map(|r| {
                (
                    r.count.to_string(),
                    json!({"apply": r.applied, "full_apply_runs_ms": r.full_ms_runs, "load": r.load}),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    record.figures = of(Balancer::Agent);
    record.baseline = Some(Baseline {
        name: format!(
            "iptables DNAT in one linear chain, kube-proxy's layout ({iptables_version}); \
             one change with iptables-restore --noflush"
        ),
        figures: of(Balancer::Iptables),
    });
    let find = |balancer, count| {
        rows.iter()
            .find(|r| r.balancer == balancer && r.count == count)
    };
    let (low, high) = (COUNTS[0], COUNTS[COUNTS.len() - 1]);
    let rate_ratio = |balancer| {
        Some(find(balancer, high)?.load.per_second / find(balancer, low)?.load.per_second)
    };
    let agent_ratio = rate_ratio(Balancer::Agent);
    for (balancer, ratio) in [
        (Balancer::Agent, agent_ratio),
        (Balancer::Iptables, rate_ratio(Balancer::Iptables)),
    ] {
        if let Some(value) = ratio {
            record.ratios.push(Ratio {
                name: format!(
                    "{} connection rate, {high} / {low} services",
                    balancer.name()
                ),
                value,
            });
        }
    }
    if let (Some(a), Some(i)) = (find(Balancer::Agent, high), find(Balancer::Iptables, high)) {
        record.ratios.push(Ratio {
            name: format!("connection rate at {high} services, agent / iptables"),
            value: a.load.per_second / i.load.per_second,
        });
        record.ratios.push(Ratio {
            name: format!("full apply of {high} services, iptables / agent (time)"),
            value: i.applied.full_ms / a.applied.full_ms,
        });
    }
    let agent_high = find(Balancer::Agent, high);
    record.targets.push(Target::at_least(
        &format!("agent connection rate, {high} / {low} services"),
        agent_ratio,
        0.9,
        "",
    ));
    record.targets.push(Target::at_most(
        &format!("agent full apply of {high} services"),
        agent_high.map(|r| r.applied.full_ms),
        1000.0,
        "ms",
    ));
    record.targets.push(Target::at_most(
        &format!("agent one backend change with {high} services (median of {CHANGES})"),
        agent_high
            .and_then(|r| r.applied.one_change_ms)
            .map(|s| s.p50),
        20.0,
        "ms",
    ));
    for r in rows {
        record.summary_lines.push(format!(
            "{:>8} {:>6} services: {:>7.0} conn/s, latency p50 {:>5.0} / p99 {:>5.0} µs; \
             full apply {:>7.1} ms; one change p50 {:.1} / max {:.1} ms",
            r.balancer.name(),
            r.count,
            r.load.per_second,
            r.load.latency_us.map_or(f64::NAN, |s| s.p50),
            r.load.latency_us.map_or(f64::NAN, |s| s.p99),
            r.applied.full_ms,
            r.applied.one_change_ms.map_or(f64::NAN, |s| s.p50),
            r.applied.one_change_ms.map_or(f64::NAN, |s| s.max),
        ));
    }
    record
}

fn json_of<T: DeserializeOwned>(text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text.trim()).with_context(|| format!("a worker printed {text:?}"))
}

/// The backend pod's server, killed on drop (a child of ours, by its PID).
struct Server(Child);

impl Server {
    fn wait_listening(&mut self) -> anyhow::Result<()> {
        let Some(stdout) = self.0.stdout.as_mut() else {
            bail!("the server's stdout is not piped");
        };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the server's first line")?;
        if line.trim() != "listening" {
            bail!("the server did not start: {line:?}");
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
