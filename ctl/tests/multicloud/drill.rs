//! `ctl drill failover` on the demo (docs/cli.md, "ctl drill failover"): aws's echo
//! backends withdrawn (`--fault backends`), and aws cut from the mesh (`--fault
//! cluster`), under probe traffic from gcp and onprem; the drill must recover, fail
//! back, account for every probe, and restore the fault.
//!
//! Bounds: both faults recover in under 2 s. A backends fault is the path "backend not
//! ready" (EndpointSlice conditions), which the two-cluster e2e holds to 1 s; a cluster
//! fault is "cluster lost", detected by the peers after their peer timeout (the demo's
//! 1 s), plus the same 1 s allowance as for a node's lease TTL.

use std::time::Duration;

use serde_json::Value;

use crate::{
    demo::{CLOUDS, Demo, others},
    json::{backends, service, str_of},
    vip,
};

const TARGET: &str = "aws";
/// The demo's `clustermesh-apiserver run --peer-timeout` (examples/multicloud/lib/common.sh).
const PEER_TIMEOUT_MS: u64 = 1000;
/// Every drill recovers in less: the peer timeout plus the allowance, 2 s.
const RTO_BOUND_MS: u64 = PEER_TIMEOUT_MS + 1000;

#[test]
fn drill_backends_fault_recovers_and_fails_back() {
    let demo = Demo::up("mcdb");
    demo.connect();
    let report = drill(&demo, "backends");
    let rto = report["rto_ms"].as_u64().expect("recovered, so an RTO");
    eprintln!("backends fault: {}", report["verdict"]);
    assert!(
        rto < RTO_BOUND_MS,
        "recovery from a backends fault took {rto} ms, not under {RTO_BOUND_MS} ms:\n{report:#}"
    );
    // After the restore, aws's backend is ready and selected again everywhere.
    for cloud in others(TARGET) {
        let (out, services) = demo.ctl_json(&["services", "--context", cloud]);
        let out = out.ok();
        let backend = &backends(service(&services, "default", "echo"), TARGET)[0];
        assert_eq!(backend["ready"], true, "{out}");
        assert_eq!(backend["selected"], true, "{out}");
    }
    demo.down();
}

#[test]
fn drill_cluster_fault_recovers_within_the_peer_timeout() {
    let demo = Demo::up("mcdc");
    demo.connect();
    let report = drill(&demo, "cluster");
    let rto = report["rto_ms"].as_u64().expect("recovered, so an RTO");
    eprintln!("cluster fault: {}", report["verdict"]);
    // The peers drop the target after their peer timeout, plus the allowance.
    assert!(
        rto < RTO_BOUND_MS,
        "recovery from a cluster fault took {rto} ms, not under {RTO_BOUND_MS} ms (peer \
         timeout {PEER_TIMEOUT_MS} ms + 1 s):\n{report:#}"
    );
    // The restore reconnects the peers: the mesh is healthy again, and the VIP answers
    // from all three clouds.
    demo.ctl(&["status", "--wait", "--timeout", "60s"]).ok();
    for cloud in others(TARGET) {
        vip::wait_answers_from(&demo, cloud, CLOUDS.len(), Duration::from_secs(30));
    }
    demo.down();
}

/// Runs the drill on aws's default/echo with `fault` and checks what every drill must
/// show; returns its JSON report.
fn drill(demo: &Demo, fault: &str) -> Value {
    let svg = demo.scratch.join(format!("drill-{fault}.svg"));
    let svg_arg = svg.to_str().expect("a UTF-8 path").to_owned();
    let (out, report) = demo.ctl_json(&[
        "drill",
        "failover",
        "--context",
        TARGET,
        "--service",
        "default/echo",
        "--fault",
        fault,
        "--duration",
        "20s",
        "--svg",
        &svg_arg,
    ]);
    let out = out.ok();
    let ctx = format!("{fault} drill:\n{out}");
    assert_eq!(report["fault"], fault, "{ctx}");
    assert_eq!(report["recovered"], true, "{ctx}");
    assert_eq!(report["failed_back"], true, "{ctx}");
    assert!(report["rto_ms"].is_u64(), "{ctx}");
    assert!(report["failback_ms"].is_u64(), "{ctx}");
    let probes = &report["probes"];
    assert_eq!(probes["accounted"], true, "{ctx}");
    assert_eq!(probes["failed_before_fault"], 0, "{ctx}");
    assert_eq!(probes["failed_after_restore"], 0, "{ctx}");
    let probers: Vec<String> = report["probers"]
        .as_array()
        .expect("probers")
        .iter()
        .map(|p| str_of(&p["context"]))
        .collect();
    assert_eq!(probers, others(TARGET), "both other clouds probe: {ctx}");
    assert_eq!(report["skipped"], Value::Array(vec![]), "{ctx}");
    let image = std::fs::read_to_string(&svg).unwrap_or_default();
    assert!(
        image.contains("<svg"),
        "no SVG timeline at {}",
        svg.display()
    );
    report
}
