//! Two clusters end to end, as root, in network namespaces this test creates: one node
//! per cluster (a namespace on a shared underlay bridge), pods behind veths, the real
//! `clustermesh-apiserver` and `node-agent` binaries inside each node, the clusters
//! connected through the Admin API. Checks pod-to-pod traffic through the WireGuard
//! tunnel (and that the underlay carries it only as WireGuard UDP), the global service
//! VIP with local affinity, failover to the remote cluster within 1 s of a manifest
//! change, failback, the agents' metrics and readiness and the tunnel report `ctl
//! status` shows, SIGKILL and restart of each agent under probes every 10 ms through
//! the tunnel and the VIP without losing one, and `node-agent cleanup`.
//!
//! `CLUSTERMESH_KEEP=1` keeps the namespaces and processes for debugging.

mod e2e;

use std::{
    fmt::Write as _,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use e2e::{
    agents::{AGENT_METRICS_PORT, Agent, Dump, WG_PORT},
    clusters::{API_PORT, METRICS_PORT, path},
    connect, connected_clusters,
    manifests::VIP,
    prober::Prober,
    processes::{Spawned, wireguard_go_pids},
    topology::{Topology, in_ns},
    underlay, wait_until,
};
use node_agent::netns_testing::in_netns;

const TEST: &str = "two_clusters_tunnel_vip_failover_failback";
const POLL: Duration = Duration::from_millis(20);
const SETTLE: Duration = Duration::from_secs(30);

#[test]
fn two_clusters_tunnel_vip_failover_failback() {
    let mut namespaces = Vec::new();
    let mut report = None;
    let setup = |hub: &_| {
        let (topo, guards) = Topology::build(hub);
        report = Some(report_path(&topo.hub));
        namespaces = guards;
    };
    in_netns(TEST, setup, body);
    drop(namespaces);
    // The body ran in another process, whose output is shown only on failure.
    if let Some(report) = report {
        let timings = std::fs::read_to_string(&report).expect("the body wrote its timings");
        eprint!("{timings}");
        let _ = std::fs::remove_file(report);
    }
}

/// Where the body leaves its measured times for the parent process to print.
fn report_path(hub: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{hub}-timings.txt"))
}

/// `curl` from inside `ns`; the body on success.
fn curl(ns: &str, url: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "curl", "-sSf", "--max-time", "1", url])
        .output()
        .expect("curl runs");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls the VIP from `ns` every 20 ms until it has answered `want` for one second
/// straight; returns when that streak began, measured from `since`.
fn streak(ns: &str, want: &str, since: Instant) -> Duration {
    let url = format!("http://{VIP}/who");
    let mut began = None;
    loop {
        let answer = curl(ns, &url);
        let now = since.elapsed();
        if answer.as_deref() == Some(want) {
            let start = *began.get_or_insert(now);
            if now - start >= Duration::from_secs(1) {
                return start;
            }
        } else {
            began = None;
        }
        assert!(
            now < SETTLE,
            "the VIP did not settle on {want:?}; last answer {answer:?}"
        );
        std::thread::sleep(POLL);
    }
}

fn body() {
    let topo = Topology::current();
    let (a, b) = (&topo.a, &topo.b);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ctl = dir.join("ctl.yaml");
    let mut dump = Dump::default();
    let iface = |c: &str| format!("cmw{}{c}", std::process::id());

    let (mut api_a, mut api_b, runtime) = connected_clusters(&topo, dir, &ctl, true);
    dump.logs
        .push(("apiserver a".into(), api_a.process.log.clone()));
    dump.logs
        .push(("apiserver b".into(), api_b.process.log.clone()));

    let mut webs = Vec::new();
    for c in [a, b] {
        let root = dir.join(format!("{}-www", c.name));
        std::fs::create_dir_all(&root).expect("web root");
        std::fs::write(root.join("who"), c.name).expect("who file");
        let args = [
            "python3",
            "-m",
            "http.server",
            "8080",
            "--bind",
            &c.backend_ip(),
            "--directory",
            &path(&root),
        ];
        let log = dir.join(format!("web-{}.log", c.name));
        webs.push(Spawned::start(
            &format!("web {}", c.name),
            &c.web_ns,
            &args,
            &[],
            &log,
        ));
        let url = format!("http://{}:8080/who", c.backend_ip());
        wait_until(
            SETTLE,
            POLL,
            &format!("web {} answers its node", c.name),
            || curl(&c.node_ns, &url).as_deref() == Some(c.name),
        );
    }

    let mut agents = Vec::new();
    for (c, api) in [(a, &api_a), (b, &api_b)] {
        let agent = Agent::start(c, api, dir, &iface(c.name));
        dump.logs
            .push((format!("agent {}", c.name), agent.process.log.clone()));
        dump.nodes
            .push((c.node_ns.clone(), agent.interface.clone()));
        agents.push(agent);
    }

    // 1. Pod to pod across the tunnel, with a recent handshake on node a.
    let remote = format!("http://{}:8080/who", b.backend_ip());
    wait_until(SETTLE, POLL, "a's client reaches b's pod", || {
        agents
            .iter_mut()
            .for_each(|agent| agent.process.assert_running());
        curl(&a.client_ns, &remote).as_deref() == Some("b")
    });
    let iface_a = iface("a");
    assert!(
        !wireguard_go_pids(&iface_a).is_empty(),
        "no wireguard-go serves {iface_a}"
    );
    let handshakes = in_ns(
        &a.node_ns,
        &["wg", "show", &iface("a"), "latest-handshakes"],
    );
    let handshakes = String::from_utf8_lossy(&handshakes.stdout).into_owned();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let latest = handshakes
        .split_whitespace()
        .nth(1)
        .and_then(|t| t.parse::<u64>().ok());
    assert!(
        latest.is_some_and(|t| t > 0 && now.abs_diff(t) < 180),
        "no recent handshake on node a: {handshakes:?}"
    );

    // From here on, count what crosses a's underlay interface.
    let pod_cidrs = [a.pod_cidr(), b.pod_cidr()];
    underlay::install(
        &a.node_ns,
        &pod_cidrs,
        &[API_PORT, METRICS_PORT, AGENT_METRICS_PORT],
        WG_PORT,
    );

    // 2. The VIP with local affinity answers from a's own backend.
    let mut timings = String::new();
    let local = streak(&a.client_ns, "a", Instant::now());
    writeln!(timings, "VIP answered by a's backend after {local:?}").expect("write");

    // 3. Failover: a's backend not ready, so b's answers, within 1 s of the write.
    let written = Instant::now();
    api_a.set_backend_ready(a, false, true);
    let failover = streak(&a.client_ns, "b", written);
    writeln!(
        timings,
        "failover to b: {failover:?} after the manifest write"
    )
    .expect("write");
    eprint!("{timings}");
    assert!(
        failover <= Duration::from_secs(1),
        "failover took {failover:?}, more than 1 s"
    );

    // 4. Failback: a's backend ready again.
    let written = Instant::now();
    api_a.set_backend_ready(a, true, true);
    let failback = streak(&a.client_ns, "a", written);
    writeln!(
        timings,
        "failback to a: {failback:?} after the manifest write"
    )
    .expect("write");

    // 5. Each agent is ready, reports its dataplane in /metrics, and its tunnel report
    //    reaches its apiserver's status.
    for agent in &mut agents {
        agent.wait_ready(SETTLE);
    }
    let metrics = agents[0].metrics();
    for line in [
        "clustermesh_agent_tunnel_peers{cluster=\"b\"} 1",
        "clustermesh_agent_tunnel_peers_up 1",
        "clustermesh_agent_routes 1",
        "clustermesh_agent_services 1",
        "clustermesh_agent_backends{cluster=\"a\"} 1",
        "clustermesh_agent_apply_errors_total 0",
        "clustermesh_agent_tunnel_handshake_age_seconds{cluster=\"b\",node=\"b-node1\"}",
    ] {
        assert!(
            metrics.contains(line),
            "agent a /metrics lacks {line:?}:\n{metrics}"
        );
    }
    let reported = runtime.block_on(connect::node_tunnels(&ctl, "a", &a.node_name(), SETTLE));
    assert_eq!(
        (reported.expected, reported.up),
        (1, 1),
        "a's tunnel report"
    );

    // 6. SIGKILL and restart each agent while a's client probes b's pod through the
    //    tunnel and the VIP every 10 ms: nothing is flushed, the device process is
    //    adopted, so no request is lost.
    let targets = [
        format!("{}:8080:/who", b.backend_ip()),
        format!("{VIP}:80:/who"),
    ];
    let mut prober = Prober::start(&a.client_ns, dir, "restart", &targets);
    prober.wait_for(50, "probes flow before the restarts");
    for (agent, c) in agents.iter_mut().zip([a, b]) {
        let device = wireguard_go_pids(&agent.interface);
        let restarted = Instant::now();
        let log = agent.kill_and_restart();
        dump.logs
            .push((format!("agent {} (restarted)", c.name), log));
        agent.wait_ready(SETTLE);
        writeln!(
            timings,
            "agent {} ready {:?} after SIGKILL",
            c.name,
            restarted.elapsed()
        )
        .expect("write");
        assert_eq!(
            wireguard_go_pids(&agent.interface),
            device,
            "the restarted agent {} must adopt its device process, not replace it",
            c.name
        );
        prober.wait_for(100, "probes flow after the restart");
    }
    let results = prober.finish();
    for (target, result) in &results {
        writeln!(
            timings,
            "probes to {target} across both restarts: {} ok, {} failed",
            result.ok,
            result.failed.len()
        )
        .expect("write");
        assert!(
            result.failed.is_empty(),
            "{target}: {} of {} requests lost across the restarts: {:?}",
            result.failed.len(),
            result.ok + result.failed.len() as u64,
            result.failed
        );
        assert!(result.ok >= 200, "{target}: only {} probes", result.ok);
    }
    assert_eq!(results.len(), 2, "{results:?}");

    // 7. Pod traffic crossed a's underlay only as WireGuard UDP.
    let (pod_addressed, other_tcp, wireguard) = underlay::read(&a.node_ns);
    writeln!(
        timings,
        "a's underlay: {wireguard} WireGuard packets, {pod_addressed} pod-addressed, {other_tcp} other TCP"
    )
    .expect("write");
    assert_eq!(pod_addressed, 0, "pod-addressed packets on the underlay");
    assert_eq!(
        other_tcp, 0,
        "TCP other than the control plane on the underlay"
    );
    assert!(
        wireguard > 400,
        "only {wireguard} WireGuard packets for the probes"
    );
    underlay::remove(&a.node_ns);
    std::fs::write(report_path(&topo.hub), &timings).expect("write the timings");

    // Stop everything by PID, then clean each node up.
    for agent in &mut agents {
        let status = agent.process.stop(Duration::from_secs(10));
        assert!(
            status.is_some_and(|s| s.success()),
            "{} did not exit cleanly on SIGTERM: {status:?}",
            agent.process.what
        );
    }
    for api in [&mut api_a, &mut api_b] {
        let status = api.process.stop(Duration::from_secs(20));
        assert!(
            status.is_some_and(|s| s.success()),
            "{} did not exit cleanly on SIGTERM: {status:?}",
            api.process.what
        );
    }
    for agent in &mut agents {
        let out = agent.cleanup();
        assert!(
            out.status.success(),
            "cleanup in {} failed: {}",
            agent.node_ns,
            String::from_utf8_lossy(&out.stderr)
        );
        let left = wireguard_go_pids(&agent.interface);
        assert!(
            left.is_empty(),
            "wireguard-go still serves {}: pids {left:?}",
            agent.interface
        );
    }
    drop(webs);
}
