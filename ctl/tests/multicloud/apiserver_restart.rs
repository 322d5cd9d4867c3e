//! An apiserver restarted, with its raft store kept, costs no request through the
//! dataplane: agents and peers keep tunnels, routes and load balancing while it is away
//! (DESIGN.md: nothing is flushed; everything reconciles by diff).
//!
//! aws's apiserver is restarted twice, by `demo.sh restart-apiserver` (same command
//! line, same data dir): once with SIGTERM, once with SIGKILL. Meanwhile probes every
//! 10 ms, each on a new connection, go from gcp's client pod to the VIP and to aws's
//! echo pod across the tunnel, and from aws's own client pod (whose agents lose their
//! apiserver) to the VIP and to gcp's echo pod. After each restart the test waits for
//! /readyz, for the peers and agents to be back on the new process (heartbeats received
//! after it was ready, a healthy `ctl status`), then for 2 s more of probes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{
    demo::{CLOUDS, Demo, ECHO_PORT, VIP},
    json::{cluster, find},
    prober::{self, Prober},
    wait::{self, epoch_now},
};

const TAG: &str = "mcrs";
const RESTARTED: &str = "aws";
/// Probing goes on this long after everything reconnected.
const AFTER: Duration = Duration::from_secs(2);

#[test]
fn an_apiserver_restart_loses_no_request_through_the_dataplane() {
    let demo = Demo::up(TAG);
    demo.connect();

    let vip = format!("{VIP}:80");
    let mut probers = [
        (
            "gcp",
            Prober::start(
                &demo,
                "gcp",
                &[vip.clone(), format!("{}:{ECHO_PORT}", demo.echo_ip("aws"))],
            ),
        ),
        (
            "aws",
            Prober::start(
                &demo,
                "aws",
                &[vip.clone(), format!("{}:{ECHO_PORT}", demo.echo_ip("gcp"))],
            ),
        ),
    ];
    for (_, prober) in &mut probers {
        prober.wait_warm(50, &CLOUDS, Duration::from_secs(30));
    }

    let readyz = format!("http://{}/readyz", demo.apiserver_metrics(RESTARTED));
    let first_restart = epoch_now();
    let mut restarts = Vec::new();
    for (signal, extra) in [("SIGTERM", None), ("SIGKILL", Some("--kill"))] {
        let started = Instant::now();
        restarts.push(format!("{signal} {:+.3}", epoch_now() - first_restart));
        let mut args = vec!["restart-apiserver", RESTARTED];
        args.extend(extra);
        demo.script(&args, Duration::from_secs(120)).ok();
        let back = epoch_now();
        let ready = started.elapsed();
        assert!(
            demo.hub_http_ok(&readyz),
            "{readyz} is not 200 after the restart"
        );
        wait::until(
            Duration::from_secs(30),
            &format!("peers and agents back on the restarted apiserver ({signal})"),
            || reconnected(&demo, back),
        );
        let reconnected = started.elapsed();
        let until = epoch_now() + AFTER.as_secs_f64();
        for (_, prober) in &mut probers {
            prober.wait_probed_after(until, AFTER + Duration::from_secs(10));
        }
        eprintln!(
            "{RESTARTED}'s apiserver restarted after {signal}: ready {ready:?}, peers and \
             agents back {reconnected:?} after the restart began"
        );
    }

    // Every figure first, then the verdict.
    let mut failures = Vec::new();
    for (cloud, prober) in probers {
        let probes = prober.finish();
        for (target, t) in prober::tally(&probes) {
            eprintln!(
                "probes from {cloud}'s client to {target} across both restarts: {} ok, {} \
                 failed, answered by {:?}, slowest {} ms",
                t.ok, t.failed, t.clouds, t.slowest_ms
            );
            assert!(
                t.ok >= 400,
                "from {cloud}'s client to {target}: only {} probes",
                t.ok
            );
            let failed: Vec<_> = probes
                .iter()
                .filter(|p| p.target == target && p.result.is_err())
                .map(|p| {
                    let at = p.start - first_restart;
                    format!("{at:+.3}s {}", p.result.as_ref().err().map_or("", |e| e))
                })
                .collect();
            if !failed.is_empty() {
                failures.push(format!(
                    "from {cloud}'s client to {target}: {} of {} failed (start relative to the \
                     first restart): {failed:?}",
                    failed.len(),
                    t.ok + t.failed
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "probes failed across the apiserver restarts (at {restarts:?} s after the first):\n{}",
        failures.join("\n")
    );

    demo.down();
}

/// `ctl status` is healthy, and everyone talks to the new process: every other cloud's
/// last heartbeat from the restarted cloud, the restarted cloud's from its peers and
/// from its agents, were received after `back` (when the new process was ready).
fn reconnected(demo: &Demo, back: f64) -> Result<(), String> {
    let asked = epoch_now();
    let (out, status) = demo.ctl_json(&["status"]);
    if out.code != Some(0) {
        return Err(format!("ctl status: {}", status["verdict"]));
    }
    // Anything received before `back` is at least this old now.
    let limit_ms = (asked - back) * 1000.0;
    let fresh = |v: &Value, what: String| match v["last_heartbeat_age_ms"].as_f64() {
        Some(age) if age < limit_ms => Ok(()),
        age => Err(format!(
            "{what}: last heartbeat {age:?} ms ago, {limit_ms:.0} ms since ready"
        )),
    };
    for cloud in CLOUDS {
        let this = cluster(&status, cloud);
        if cloud == RESTARTED {
            for peer in this["peers"].as_array().into_iter().flatten() {
                fresh(peer, format!("{cloud}'s peer {}", peer["name"]))?;
            }
            for node in this["nodes"].as_array().into_iter().flatten() {
                fresh(node, format!("{cloud}'s node {}", node["name"]))?;
            }
        } else {
            let peer = find(this, "peers", "name", RESTARTED);
            fresh(peer, format!("{cloud}'s peer {RESTARTED}"))?;
        }
    }
    Ok(())
}
