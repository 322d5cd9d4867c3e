//! A node killed is taken out of load balancing within the node lease TTL + 1 s.
//!
//! In the demo's default layout node 1 of each cloud runs both the echo backend and the
//! cloud's apiserver, so killing it would be a cluster outage (another failure path,
//! detected by the peers' heartbeats). This test puts the echo pods on node 2
//! (`CLUSTERMESH_DEMO_ECHO_NODE=2`, beside the client pod) and kills aws's node 2 the
//! way a machine dies: every process in it is SIGKILLed at once (its node agent, the
//! agent's `wireguard-go` device process, and the echo pod's server, each by its PID),
//! and its underlay link goes down, so packets to it vanish instead of being refused.
//! aws's apiserver, on node 1, stays up: the node is lost only through its agent's
//! lease (DESIGN.md, "Failure handling").
//!
//! Probes from gcp's and onprem's client pods hit the VIP every 10 ms, each on a new
//! connection (a new load-balancing decision). A probe is *bad* when aws answers it,
//! when it fails and the client node's conntrack entry for it shows it was sent to
//! aws's backend (or there is no entry to say: the agent deletes the unanswered
//! entries of a lost backend), or when a remaining cloud answers it only after a SYN
//! retransmission (its first SYN went to aws; once the agent took aws out and forgot
//! the flow, the retransmission was balanced afresh). The takeout time is from the
//! kill to the start of the last bad probe, after which every probe goes to the
//! remaining clouds, at once, for at least 2 s. A probe that failed at a backend that
//! stayed up is not the killed node's doing: it is printed, with the backend, and not
//! counted against the takeout.

use std::{collections::BTreeMap, time::Duration};

use crate::{
    conntrack,
    demo::{CLOUDS, Demo, ECHO_PORT, Options, VIP, others},
    json::{backends, cluster, find, service},
    prober::{self, Probe, Prober},
    wait::{self, epoch_now},
};

const TAG: &str = "mckl";
/// The client pods run on node 2; their connections to the VIP are DNATed there.
const CLIENT_NODE: u8 = 2;
const VICTIM: &str = "aws";
/// `clustermesh-apiserver run --node-lease-ttl`'s default, which the demo uses.
const LEASE_TTL: Duration = Duration::from_secs(3);
/// What the product promises: out of load balancing within the lease TTL + 1 s.
const BOUND: Duration = Duration::from_secs(4);
/// Good probes needed after the last bad one.
const WINDOW: Duration = Duration::from_secs(2);

#[test]
fn a_killed_node_leaves_load_balancing_within_the_lease_ttl_plus_1s() {
    let demo = Demo::up_with(TAG, Options { echo_node: 2 });
    demo.connect();

    let targets = [format!("{VIP}:80")];
    let mut probers: Vec<(&str, Prober)> = others(VICTIM)
        .into_iter()
        .map(|c| (c, Prober::start(&demo, c, &targets)))
        .collect();
    for (_, prober) in &mut probers {
        prober.wait_warm(50, &CLOUDS, Duration::from_secs(30));
    }

    // The kill: every process of aws's node 2 and of the echo pod behind it, then the
    // node's link.
    let node_ns = demo.node_ns(VICTIM, 2);
    let echo_ns = demo.pod_ns(VICTIM, "echo");
    let agent = demo
        .recorded_pid(&format!("agent-{VICTIM}2"))
        .expect("aws's node 2 agent runs");
    let echo = demo
        .recorded_pid(&format!("echo-{VICTIM}"))
        .expect("aws's echo pod runs");
    let devices = demo.device_pids(VICTIM, 2);
    assert_eq!(devices.len(), 1, "one wireguard-go for aws's node 2");
    let mut pids: Vec<String> = [agent, echo]
        .into_iter()
        .chain(devices)
        .map(|p| p.to_string())
        .collect();
    pids.sort();
    let unknown: Vec<u32> = [demo.namespace_pids(&node_ns), demo.namespace_pids(&echo_ns)]
        .concat()
        .into_iter()
        .filter(|p| !pids.contains(&p.to_string()))
        .collect();
    assert!(
        unknown.is_empty(),
        "processes in {node_ns} or {echo_ns} the demo did not start: {unknown:?}"
    );
    let killed_at = epoch_now();
    let mut kill = std::process::Command::new("kill");
    kill.arg("-KILL").args(&pids);
    crate::cmd::run(kill, Duration::from_secs(5)).ok();
    let mut link = std::process::Command::new("ip");
    link.args(["-n", &node_ns, "link", "set", "eth0", "down"]);
    crate::cmd::run(link, Duration::from_secs(5)).ok();
    wait::until(
        Duration::from_secs(5),
        "the node's processes are gone",
        || {
            let left = [demo.namespace_pids(&node_ns), demo.namespace_pids(&echo_ns)].concat();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("{left:?}"))
            }
        },
    );

    // Until each prober has seen the window of good probes, then stop them.
    let victim_backend = format!("{}:{ECHO_PORT}", demo.echo_ip(VICTIM));
    let judge = |cloud: &str, probes: Vec<Probe>| {
        let backends = conntrack::vip_backends(&demo.node_ns(cloud, CLIENT_NODE), VIP, 80);
        probes
            .into_iter()
            .map(|p| {
                let verdict = verdict(&p, &backends, &victim_backend);
                (p, verdict)
            })
            .collect::<Vec<_>>()
    };
    for (cloud, prober) in &mut probers {
        let what = format!("{cloud}'s client: {WINDOW:?} of answers from the remaining clouds");
        wait::until(Duration::from_secs(30), &what, || {
            let probes = judge(cloud, prober.probes());
            let last_bad = last_bad_start(&probes, killed_at).unwrap_or(killed_at);
            let latest = probes.iter().map(|(p, _)| p.start).fold(0.0, f64::max);
            let needed = last_bad + (WINDOW + prober::TIMEOUT).as_secs_f64();
            if latest >= needed {
                Ok(())
            } else {
                Err(format!(
                    "last bad probe {:.3} s after the kill",
                    last_bad - killed_at
                ))
            }
        });
    }
    let mut takeout = Duration::ZERO;
    for (cloud, prober) in probers {
        let probes = judge(cloud, prober.finish());
        let before: Vec<&(Probe, Verdict)> =
            probes.iter().filter(|(p, _)| p.start < killed_at).collect();
        // A connection to aws still open at the kill dies with it: not a failure before.
        let cut = |(p, v): &(Probe, Verdict)| {
            p.start + p.ms / 1000.0 > killed_at
                && matches!(v, Verdict::Victim | Verdict::Unattributed)
        };
        let (cut_by_kill, failed_before): (Judged, Judged) = before
            .iter()
            .copied()
            .filter(|(p, _)| p.result.is_err())
            .partition(|pv| cut(pv));
        if !cut_by_kill.is_empty() {
            eprintln!(
                "{cloud}'s client: {} probes to {VICTIM} in flight at the kill failed",
                cut_by_kill.len()
            );
        }
        assert!(
            failed_before.is_empty(),
            "{cloud}'s client: probes failed before the kill (with where conntrack says \
             they were sent): {failed_before:#?}"
        );
        let slow_before: Vec<&Probe> = before
            .iter()
            .map(|(p, _)| p)
            .filter(|p| p.is_slow())
            .collect();
        if !slow_before.is_empty() {
            eprintln!(
                "{cloud}'s client: {} of {} probes before the kill needed a retransmission: \
                 {slow_before:#?}",
                slow_before.len(),
                before.len()
            );
        }
        let after: Vec<&(Probe, Verdict)> = probes
            .iter()
            .filter(|(p, _)| p.start >= killed_at)
            .collect();
        let bad: Vec<&Probe> = after
            .iter()
            .filter(|(_, v)| v.is_bad())
            .map(|(p, _)| p)
            .collect();
        let unattributed = after
            .iter()
            .filter(|(_, v)| *v == Verdict::Unattributed)
            .count();
        let elsewhere: Vec<String> = after
            .iter()
            .filter_map(|(p, v)| match v {
                Verdict::Elsewhere(backend) => Some(format!(
                    "{:.3} s after the kill, sent to {backend}: {p:?}",
                    p.start - killed_at
                )),
                _ => None,
            })
            .collect();
        let last_bad = last_bad_start(&probes, killed_at).unwrap_or(killed_at);
        let settled: Vec<Probe> = after
            .iter()
            .filter(|(p, _)| p.start > last_bad)
            .map(|(p, _)| p.clone())
            .collect();
        let latest = settled.iter().map(|p| p.start).fold(last_bad, f64::max);
        let late: Vec<String> = after
            .iter()
            .filter(|(_, v)| v.is_bad())
            .rev()
            .take(5)
            .map(|(p, v)| format!("{:.3} s after the kill, {v:?}: {p:?}", p.start - killed_at))
            .collect();
        if Duration::from_secs_f64(latest - last_bad) < WINDOW {
            // What the node's conntrack holds for the last bad probes' source ports.
            let table = conntrack::table(&demo.node_ns(cloud, CLIENT_NODE));
            for (p, _) in after.iter().filter(|(_, v)| v.is_bad()).rev().take(5) {
                let Some(port) = p.port else { continue };
                let needle = format!("sport={port} dport=80 ");
                let entries: Vec<&str> = table.lines().filter(|l| l.contains(&needle)).collect();
                eprintln!("{cloud}'s client, source port {port}: conntrack {entries:#?}");
            }
        }
        assert!(
            Duration::from_secs_f64(latest - last_bad) >= WINDOW,
            "{cloud}'s client: only {:.3} s of good probes after the last bad one; the last \
             bad ones: {late:#?}",
            latest - last_bad
        );
        let remaining = prober::tally(&settled);
        let seen = &remaining[&targets[0]].clouds;
        for other in others(VICTIM) {
            assert!(
                seen.contains(other),
                "{cloud}'s client: {other} never answered after the takeout: {seen:?}"
            );
        }
        let this = Duration::from_secs_f64(last_bad - killed_at);
        let timeouts = bad.iter().filter(|p| p.result.is_err()).count();
        let count = |verdict: Verdict| after.iter().filter(|(_, v)| *v == verdict).count();
        eprintln!(
            "{cloud}'s client: {} probes after the kill, {} bad ({timeouts} failed, \
             {unattributed} of them with no conntrack entry; {} answered by {VICTIM}; {} \
             answered elsewhere after a retransmission); last bad one started {this:?} \
             after the kill; then {} good probes over {:.1} s; the last bad ones: {late:#?}",
            after.len(),
            bad.len(),
            count(Verdict::Victim) - (timeouts - unattributed),
            count(Verdict::Delayed),
            settled.len(),
            latest - last_bad
        );
        if !elsewhere.is_empty() {
            eprintln!(
                "{cloud}'s client: {} probes failed at a backend that stayed up (not counted \
                 against the takeout): {elsewhere:#?}",
                elsewhere.len()
            );
        }
        takeout = takeout.max(this);
    }
    eprintln!(
        "node {VICTIM}-node2 out of load balancing {takeout:?} after the kill (lease TTL \
         {LEASE_TTL:?}, bound {BOUND:?})"
    );
    assert!(
        takeout <= BOUND,
        "the killed node's backend stayed in load balancing for {takeout:?}, more than the \
         lease TTL ({LEASE_TTL:?}) + 1 s"
    );

    // The control plane agrees: aws's apiserver holds no lease for the node, so ctl
    // shows its backend out, and the node unregistered.
    let (out, services) = demo.ctl_json(&["services", "--context", VICTIM]);
    let out = out.ok();
    let backend = &backends(service(&services, "default", "echo"), VICTIM)[0];
    assert_eq!(backend["node"], format!("{VICTIM}-node2"), "{out}");
    assert_eq!(backend["node_lease"], "expired", "{out}");
    assert_eq!(backend["selected"], false, "{out}");
    assert_eq!(
        backend["reason"], "its node has no live agent lease",
        "{out}"
    );
    let (out, status) = demo.ctl_json(&["status", "--context", VICTIM]);
    let node = find(
        cluster(&status, VICTIM),
        "nodes",
        "name",
        &format!("{VICTIM}-node2"),
    );
    assert_eq!(node["registered"], false, "{out}");

    demo.down();
}

type Judged<'a> = Vec<&'a (Probe, Verdict)>;

#[derive(Debug, PartialEq)]
enum Verdict {
    /// Answered by a remaining cloud.
    Good,
    /// Answered by the killed node's backend, or failed after being sent to it.
    Victim,
    /// Failed with no conntrack entry to say where it went: counted as bad.
    Unattributed,
    /// Answered by a remaining cloud only after a retransmission: its first SYN went
    /// to the killed node (the agent then forgot that flow, and the retransmission was
    /// balanced afresh) or was lost. Counted as bad: the takeout is not over before it.
    Delayed,
    /// Failed, but the load balancer had sent it to this backend, which stayed up.
    Elsewhere(String),
}

impl Verdict {
    fn is_bad(&self) -> bool {
        matches!(self, Self::Victim | Self::Unattributed | Self::Delayed)
    }
}

fn verdict(p: &Probe, backends: &BTreeMap<u16, String>, victim_backend: &str) -> Verdict {
    match p.cloud() {
        Some(c) if c == VICTIM => Verdict::Victim,
        Some(_) if p.is_slow() => Verdict::Delayed,
        Some(_) => Verdict::Good,
        None => match p.port.and_then(|port| backends.get(&port)) {
            Some(backend) if backend != victim_backend => Verdict::Elsewhere(backend.clone()),
            Some(_) => Verdict::Victim,
            None => Verdict::Unattributed,
        },
    }
}

/// When the last bad probe started at or after `since`.
fn last_bad_start(probes: &[(Probe, Verdict)], since: f64) -> Option<f64> {
    probes
        .iter()
        .filter(|(p, v)| p.start >= since && v.is_bad())
        .map(|(p, _)| p.start)
        .reduce(f64::max)
}
