//! Dataplane figures on the two-cluster namespace topology of the end-to-end test, with
//! the real binaries:
//! 1. **rule latency**: a backend's readiness flipped in cluster b's manifests, until
//!    the nft change on cluster a's node (seen by `nft monitor` there), over the whole
//!    path: source → export → store → peer import → a's store → agent → nft;
//! 2. **tunnel throughput**, for each userspace implementation (wireguard-go and
//!    boringtun-cli, which must be on PATH): iperf3 from a's client pod to b's pod
//!    through the agent-configured device (also with the agents paused), then through
//!    the same program configured by hand with `wg` and `ip route` after `node-agent
//!    cleanup` (also with the agent's nft table loaded back, whole and with its nat
//!    chains only), which takes the difference apart;
//! 3. **raw veth**: iperf3 from a's node to b's node over the underlay, no tunnel: the
//!    physical limit of this machine.
//!
//! Run as root: `cargo bench -p node-agent --bench dataplane` (`make bench-micro` runs it).
//! With `CLUSTERMESH_DATAPLANE_JSON=FILE` (the `tunnel` scenario of `make bench`) the
//! medians go to FILE as JSON, and the configurations that only take the gap apart
//! (agents paused, the agent's table loaded by hand) are left out.

#[path = "../tests/e2e/mod.rs"]
mod e2e;

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use e2e::{
    agents::{Agent, WG_PORT},
    clusters::{Apiserver, path},
    connected_clusters,
    processes::Spawned,
    topology::{Cluster, Topology, in_ns},
    wait_until,
};
use node_agent::{
    netns_testing::in_netns_program,
    wireguard::{TUNNEL_MTU, Userspace},
};

const NAME: &str = "bench_dataplane";
/// Readiness flips measured (plus one warm-up).
const CHANGES: usize = 100;
/// A transaction's monitor lines arrive together; this much silence ends one.
const QUIET: Duration = Duration::from_millis(150);
const IPERF_RUNS: usize = 2;
/// Agent-configured and hand-configured phases, alternated.
const ROUNDS: usize = 2;
const IPERF_SECONDS: &str = "4";
const JSON_ENV: &str = "CLUSTERMESH_DATAPLANE_JSON";
/// Measured side by side; `boringtun-cli` must be on PATH (`make bench` installs it).
const IMPLEMENTATIONS: [Userspace; 2] = [Userspace::WireguardGo, Userspace::Boringtun];

fn main() {
    let mut namespaces = Vec::new();
    let ok = in_netns_program(NAME, |hub| namespaces = Topology::build(hub).1, body);
    drop(namespaces);
    if !ok {
        eprintln!("{NAME} failed");
        std::process::exit(1);
    }
}

/// One userspace implementation's runs, in bits/s.
#[derive(Default)]
struct Runs {
    by_agent: Vec<f64>,
    by_hand: Vec<f64>,
    // Only without JSON output: the configurations that take the gap apart.
    by_agent_paused: Vec<f64>,
    by_hand_lb: Vec<f64>,
    by_hand_nat: Vec<f64>,
}

fn body() {
    let topo = Topology::current();
    let (a, b) = (&topo.a, &topo.b);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ctl = dir.join("ctl.yaml");
    // No affinity: a's VIP balances over both clusters, so b's backend is in a's rules.
    let (mut api_a, mut api_b, runtime) = connected_clusters(&topo, dir, &ctl, false);
    // Not driven from here on, its admin connections would stay open and hold each
    // apiserver's graceful stop at the end to its 10 s drain timeout.
    drop(runtime);
    let json_out = std::env::var_os(JSON_ENV).map(std::path::PathBuf::from);
    let setup = Setup {
        a,
        b,
        api_a: &api_a,
        api_b: &api_b,
        dir,
        diagnose: json_out.is_none(),
    };
    let latency = {
        let _agents = setup.start_agents(Userspace::WireguardGo);
        rule_latency(a, b, &api_b)
    };

    // Alternated, so that drift in the machine's load favours no implementation and
    // neither side: every other round measures the hand-made tunnels first.
    let mut runs: Vec<(Userspace, Runs)> = IMPLEMENTATIONS
        .iter()
        .map(|&u| (u, Runs::default()))
        .collect();
    let mut raw = Vec::new();
    for round in 0..ROUNDS {
        for (userspace, runs) in &mut runs {
            setup.measure(*userspace, runs, round % 2 == 1);
        }
        raw.extend(raw_throughput(a, b, dir));
    }
    let raw_bps = median(&mut raw);
    println!(
        "raw veth (node to node, no tunnel): {:.0} Mbit/s",
        raw_bps / 1e6
    );
    let mut implementations = Vec::new();
    for (userspace, runs) in &mut runs {
        let (agent_bps, hand_bps) = (median(&mut runs.by_agent), median(&mut runs.by_hand));
        println!(
            "{userspace}: agent-configured {:.0} Mbit/s, by hand {:.0} Mbit/s (median of {} runs each): agent/hand {:.3}",
            agent_bps / 1e6,
            hand_bps / 1e6,
            runs.by_agent.len(),
            agent_bps / hand_bps
        );
        if setup.diagnose {
            let hand_lb_bps = median(&mut runs.by_hand_lb);
            let paused_bps = median(&mut runs.by_agent_paused);
            let nat_bps = median(&mut runs.by_hand_nat);
            println!(
                "{userspace}: by hand with the agent's nft table {:.0} Mbit/s (agent/that {:.3}); \
                 agents paused {:.0} Mbit/s (that/hand {:.3}); by hand with the nat chains only \
                 {:.0} Mbit/s (that/hand {:.3})",
                hand_lb_bps / 1e6,
                agent_bps / hand_lb_bps,
                paused_bps / 1e6,
                paused_bps / hand_bps,
                nat_bps / 1e6,
                nat_bps / hand_bps
            );
        }
        let mbits = |runs: &[f64]| runs.iter().map(|r| r / 1e6).collect::<Vec<_>>();
        implementations.push(serde_json::json!({
            "implementation": userspace.to_string(),
            "agent_mbit_s": agent_bps / 1e6,
            "hand_mbit_s": hand_bps / 1e6,
            "runs_mbit_s": {"agent": mbits(&runs.by_agent), "hand": mbits(&runs.by_hand)},
        }));
    }
    if let Some(out) = json_out {
        let json = serde_json::json!({
            "runs_each": ROUNDS * IPERF_RUNS,
            "iperf_seconds": IPERF_SECONDS,
            "implementations": implementations,
            "raw_veth_mbit_s": raw_bps / 1e6,
            "raw_veth_runs_mbit_s": raw.iter().map(|r| r / 1e6).collect::<Vec<_>>(),
            "rule_latency_ms": latency,
        });
        std::fs::write(&out, json.to_string()).expect("write the JSON result");
    }
    api_a.process.stop(Duration::from_secs(20));
    api_b.process.stop(Duration::from_secs(20));
}

/// What every measured configuration runs on.
struct Setup<'a> {
    a: &'a Cluster,
    b: &'a Cluster,
    api_a: &'a Apiserver,
    api_b: &'a Apiserver,
    dir: &'a Path,
    diagnose: bool,
}

impl Setup<'_> {
    fn start_agents(&self, userspace: Userspace) -> Vec<Agent> {
        let iface = |c: &Cluster| format!("cmw{}{}", std::process::id(), c.name);
        let mut agents: Vec<Agent> = [(self.a, self.api_a), (self.b, self.api_b)]
            .into_iter()
            .map(|(c, api)| Agent::start_with(c, api, self.dir, &iface(c), &userspace.to_string()))
            .collect();
        for agent in &mut agents {
            agent.wait_ready(Duration::from_secs(30));
        }
        agents
    }

    /// One round of `userspace`: through the agents' tunnels and (after `node-agent
    /// cleanup`) through tunnels made by hand, the hand-made ones first if `hand_first`.
    /// Without JSON output, always the agents first, and also: the agents paused
    /// (SIGSTOP) on their own tunnels, what the agent process costs while traffic flows;
    /// and the hand-made tunnels with the agent's nft table loaded back, what the load
    /// balancer's hooks (and the conntrack they enable) cost alone.
    fn measure(&self, userspace: Userspace, runs: &mut Runs, hand_first: bool) {
        let (a, b, dir) = (self.a, self.b, self.dir);
        let name = userspace.to_string();
        // The tunnels are returned, to be measured again with the agent's table.
        let by_hand = |runs: &mut Runs| {
            let hand = HandTunnels::start(a, b, dir, userspace);
            runs.by_hand.extend(throughput(
                a,
                b,
                dir,
                &format!("{name}, configured by hand with wg"),
            ));
            hand
        };
        let hand_first = hand_first && !self.diagnose;
        if hand_first {
            drop(by_hand(runs));
        }
        let mut agents = self.start_agents(userspace);
        runs.by_agent
            .extend(throughput(a, b, dir, &format!("{name}, agent-configured")));
        if self.diagnose {
            for agent in &agents {
                agent.process.pause(true);
            }
            runs.by_agent_paused
                .extend(throughput(a, b, dir, &format!("{name}, agents paused")));
            for agent in &agents {
                agent.process.pause(false);
            }
        }
        let tables: Vec<(String, String)> = [a, b]
            .iter()
            .map(|c| {
                let out = in_ns(&c.node_ns, &["nft", "list", "table", "inet", "clustermesh"]);
                (
                    c.node_ns.clone(),
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                )
            })
            .collect();
        for agent in &mut agents {
            agent.process.stop(Duration::from_secs(10));
            let out = agent.cleanup();
            assert!(out.status.success(), "cleanup failed");
        }
        if hand_first {
            return;
        }
        let _hand = by_hand(runs);
        if !self.diagnose {
            return;
        }
        for (ns, table) in &tables {
            let file = dir.join(format!("{ns}.nft"));
            std::fs::write(&file, table).expect("write the saved table");
            in_ns(ns, &["nft", "-f", &path(&file)]);
        }
        runs.by_hand_lb.extend(throughput(
            a,
            b,
            dir,
            &format!("{name}, by hand, with the agent's nft table"),
        ));
        // The same without the chains every packet passes (rejects, counts): what is left
        // costs only the first packet of a connection, and conntrack, which it turns on.
        for (ns, _) in &tables {
            for chain in [
                "filter_prerouting",
                "filter_output",
                "count_prerouting",
                "count_output",
            ] {
                in_ns(
                    ns,
                    &["nft", "delete", "chain", "inet", "clustermesh", chain],
                );
            }
        }
        runs.by_hand_nat.extend(throughput(
            a,
            b,
            dir,
            &format!("{name}, by hand, with the agent's nat chains only"),
        ));
        for (ns, _) in &tables {
            in_ns(ns, &["nft", "delete", "table", "inet", "clustermesh"]);
        }
    }
}

/// Flips b's backend readiness `CHANGES` times; each time, the delay until a's node
/// shows the first nft change. Returns p50, p99 and max in ms.
fn rule_latency(a: &Cluster, b: &Cluster, api_b: &Apiserver) -> [f64; 3] {
    let mut monitor = Command::new("ip")
        .args(["netns", "exec", &a.node_ns, "nft", "monitor"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("nft monitor runs");
    let stdout = monitor.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel::<Instant>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if line.is_err() || tx.send(Instant::now()).is_err() {
                break;
            }
        }
    });
    let mut delays = Vec::with_capacity(CHANGES);
    for i in 0..=CHANGES {
        let ready = i % 2 == 1;
        let written = Instant::now();
        api_b.set_backend_ready(b, ready, false);
        let first = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a's nft rules change within 10 s of b's manifest write");
        while rx.recv_timeout(QUIET).is_ok() {}
        if i > 0 {
            delays.push(first.duration_since(written));
        }
    }
    let _ = Command::new("kill").arg(monitor.id().to_string()).status();
    let _ = monitor.wait();
    let _ = reader.join();
    delays.sort();
    let at = |q: f64| delays[((delays.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "rule latency (b's manifest → a's nft), {} changes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        delays.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0))
    );
    [ms(at(0.5)), ms(at(0.99)), ms(at(1.0))]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(runs: &mut [f64]) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// Received bits/s of `IPERF_RUNS` iperf3 runs from a's client to b's pod.
fn throughput(a: &Cluster, b: &Cluster, dir: &Path, what: &str) -> Vec<f64> {
    iperf(&a.client_ns, &b.web_ns, &b.backend_ip(), dir, what)
}

/// The same from a's node to b's node over the underlay veth: no tunnel, no NAT.
fn raw_throughput(a: &Cluster, b: &Cluster, dir: &Path) -> Vec<f64> {
    iperf(
        &a.node_ns,
        &b.node_ns,
        &b.underlay_ip(),
        dir,
        "raw veth, node to node",
    )
}

fn iperf(client_ns: &str, server_ns: &str, server_ip: &str, dir: &Path, what: &str) -> Vec<f64> {
    let _server = Spawned::start(
        "iperf3 server",
        server_ns,
        &["iperf3", "-s", "-B", server_ip],
        &[],
        &dir.join("iperf3-server.log"),
    );
    let mut runs = Vec::new();
    for _ in 0..IPERF_RUNS {
        let mut result = None;
        wait_until(
            Duration::from_secs(20),
            Duration::from_millis(100),
            "iperf3 completes a run",
            || {
                let out = Command::new("ip")
                    .args(["netns", "exec", client_ns, "iperf3", "-c", server_ip])
                    .args(["-t", IPERF_SECONDS, "-J"])
                    .output()
                    .expect("iperf3 runs");
                let json: serde_json::Value =
                    serde_json::from_slice(&out.stdout).unwrap_or_default();
                result = json["end"]["sum_received"]["bits_per_second"].as_f64();
                result.is_some()
            },
        );
        runs.push(result.expect("measured"));
    }
    println!(
        "iperf3 {what}: {:?} Mbit/s",
        runs.iter().map(|r| (r / 1e6).round()).collect::<Vec<_>>()
    );
    runs
}

/// `userspace` on both nodes, configured with `wg` and `ip` only.
struct HandTunnels {
    _devices: Vec<Spawned>,
}

impl HandTunnels {
    fn start(a: &Cluster, b: &Cluster, dir: &Path, userspace: Userspace) -> Self {
        let iface = |c: &Cluster| format!("cmh{}{}", std::process::id(), c.name);
        let key = |c: &Cluster| {
            let private = dir.join(format!("hand-{}.key", c.name));
            let out = Command::new("wg")
                .arg("genkey")
                .output()
                .expect("wg genkey");
            std::fs::write(&private, &out.stdout).expect("write key");
            let mut pubkey = Command::new("wg")
                .arg("pubkey")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("wg pubkey");
            use std::io::Write as _;
            pubkey
                .stdin
                .take()
                .expect("stdin")
                .write_all(&out.stdout)
                .expect("feed wg pubkey");
            let public = pubkey.wait_with_output().expect("wg pubkey output");
            (
                private,
                String::from_utf8_lossy(&public.stdout).trim().to_owned(),
            )
        };
        let (key_a, key_b) = (key(a), key(b));
        let mut devices = Vec::new();
        for (me, other, mine, theirs) in [(a, b, &key_a, &key_b), (b, a, &key_b, &key_a)] {
            let name = iface(me);
            let command: Vec<&str> = std::iter::once(userspace.program())
                .chain(userspace.args().iter().copied())
                .chain([name.as_str()])
                .collect();
            devices.push(Spawned::start(
                &format!("{userspace} by hand"),
                &me.node_ns,
                &command,
                &[],
                &dir.join(format!("hand-wg-{}.log", me.name)),
            ));
            let socket = format!("/var/run/wireguard/{name}.sock");
            wait_until(
                Duration::from_secs(10),
                Duration::from_millis(20),
                "the userspace device's socket",
                || Path::new(&socket).exists(),
            );
            let endpoint = format!("{}:{WG_PORT}", other.underlay_ip());
            let private = path(&mine.0);
            in_ns(
                &me.node_ns,
                &[
                    "wg",
                    "set",
                    &name,
                    "listen-port",
                    WG_PORT,
                    "private-key",
                    &private,
                    "peer",
                    &theirs.1,
                    "endpoint",
                    &endpoint,
                    "allowed-ips",
                    &other.pod_cidr(),
                ],
            );
            // The agent's MTU: boringtun-cli starts at 1500.
            let mtu = TUNNEL_MTU.to_string();
            in_ns(
                &me.node_ns,
                &["ip", "link", "set", &name, "mtu", &mtu, "up"],
            );
            in_ns(
                &me.node_ns,
                &["ip", "route", "add", &other.pod_cidr(), "dev", &name],
            );
        }
        Self { _devices: devices }
    }
}
