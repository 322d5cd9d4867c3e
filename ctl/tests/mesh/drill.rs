//! `ctl drill failover` against two in-process apiservers, with a fake agent in b that
//! "probes" by reading b's view of a (support/agent.rs): a backends fault in a moves
//! b's probes to b, the restore moves them back. Whatever ends the drill, a's fault is
//! cleared at the end.

use std::time::Duration;

use clustermesh_proto::{client_config::ClientConfig, pb};
use ctl::{
    client::Timeouts,
    drill::{self, DrillError, FailoverOptions, FaultKind, Timings},
};

use crate::support::{
    Mesh, Ranges,
    agent::{FakeAgent, admin, imported_ready},
    eventually, path_str,
};

const WAIT: Duration = Duration::from_secs(30);

/// The fault is gone: b imports a's backend ready again, and a has no fault left.
async fn assert_restored(a: &crate::support::TestCluster, b: &crate::support::TestCluster) {
    eventually(WAIT, "b imports a's backend ready again", || async {
        imported_ready(b, "a", "demo", "web").await.filter(|r| *r)
    })
    .await;
    let cleared = admin(a)
        .await
        .clear_fault(pb::ClearFaultRequest { fault_id: 0 })
        .await
        .expect("ClearFault")
        .into_inner()
        .cleared;
    assert_eq!(cleared, 0, "the drill left a fault in a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backends_drill_recovers_fails_back_and_restores() {
    let mesh = Mesh::new();
    let (a, b) = mesh.connected_pair().await;
    let _agent = FakeAgent::start(&b, "b-node1", "a", "demo", "web").await;
    eventually(WAIT, "b imports a's backend ready", || async {
        imported_ready(&b, "a", "demo", "web").await.filter(|r| *r)
    })
    .await;

    let svg = mesh.dir.path().join("drill.svg");
    let out = mesh
        .ctl(&[
            "drill",
            "failover",
            "--context",
            "a",
            "--service",
            "demo/web",
            "--fault",
            "backends",
            "--duration",
            "20s",
            "--rate",
            "50",
            "--svg",
            path_str(&svg),
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    assert_eq!(report["recovered"], true, "{}", out.stdout);
    assert_eq!(report["failed_back"], true, "{}", out.stdout);
    assert!(
        report["rto_ms"]
            .as_i64()
            .is_some_and(|r| (0..20_000).contains(&r))
    );
    assert!(report["failback_ms"].as_i64().is_some_and(|r| r >= 0));
    assert_eq!(
        report["last_failure_ms"],
        serde_json::Value::Null,
        "no probe fails here"
    );

    // Every probe accounted for: the fake never fails one.
    let probes = &report["probes"];
    assert_eq!(probes["accounted"], true, "{probes}");
    assert_eq!(probes["failed"], 0);
    let sent = probes["sent"].as_u64().expect("sent");
    assert!(
        sent >= 100,
        "{sent} probes: 50/s for a baseline of 2 s at least"
    );
    assert_eq!(probes["ok"].as_u64(), Some(sent));
    let prober = &report["probers"][0];
    assert_eq!(
        (&prober["cluster"], &prober["node"]),
        (&"b".into(), &"b-node1".into())
    );

    // The share: all on a before the fault, all on b once recovered, a again at the end.
    // (The counter interval that spans the fault spreads over the bucket before it.)
    let timeline = report["timeline"].as_array().expect("timeline");
    let share_of = |phase: &str, cluster: &str| -> Vec<f64> {
        timeline
            .iter()
            .filter(|b| b["phase"] == phase)
            .filter(|b| phase != "baseline" || b["t_ms"].as_i64() < Some(-200))
            .filter_map(|b| b["share"][cluster].as_f64())
            .collect()
    };
    assert!(share_of("baseline", "a").iter().all(|s| *s > 0.99));
    assert!(share_of("baseline", "b").is_empty());
    assert!(share_of("fault", "b").iter().any(|s| *s > 0.99));
    assert!(share_of("restored", "a").iter().any(|s| *s > 0.99));

    // The SVG was written, and its path is in the report.
    assert_eq!(report["svg"], path_str(&svg));
    let drawn = std::fs::read_to_string(&svg).expect("svg written");
    assert!(
        drawn.starts_with("<svg") && drawn.contains("restore\n</text>"),
        "{drawn:.200}"
    );

    for said in [
        "probing demo/web from b at 50/s each",
        "injecting a backends fault into cluster a (demo/web)",
        "restoring: clearing fault",
        "restored: fault",
    ] {
        assert!(out.stderr.contains(said), "{said:?} not in {}", out.stderr);
    }
    assert_restored(&a, &b).await;

    // Again, as a table, with the fault kind and rate left at their defaults.
    let out = mesh
        .ctl(&[
            "drill",
            "failover",
            "--context",
            "a",
            "--service",
            "demo/web",
            "--svg",
            path_str(&svg),
        ])
        .await;
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "failover drill: demo/web, backends fault in cluster a (context a)",
            "probes: 50/s from b (node b-node1)",
        ]
    );
    assert!(lines[2].starts_with("result: recovered "), "{}", out.stdout);
    assert!(out.stdout.contains("TIME   PHASE     OK"), "{}", out.stdout);
    assert_eq!(
        lines.last(),
        Some(&format!("timeline: {}", path_str(&svg)).as_str())
    );
    if std::env::var_os("CTL_DRILL_SHOW").is_some() {
        eprintln!("{}{}", out.stdout, out.stderr);
        std::fs::copy(&svg, "/tmp/ctl-drill-inprocess.svg").expect("copy");
    }
    assert_restored(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_mid_drill_still_clears_the_fault() {
    let mesh = Mesh::new();
    let (a, b) = mesh.connected_pair().await;
    let mut agent = FakeAgent::start(&b, "b-node1", "a", "demo", "web").await;
    eventually(WAIT, "b imports a's backend ready", || async {
        imported_ready(&b, "a", "demo", "web").await.filter(|r| *r)
    })
    .await;

    // The agent goes away once the fault is in force: its run stops reporting.
    let args = [
        "drill",
        "failover",
        "--context",
        "a",
        "--service",
        "demo/web",
        "--duration",
        "20s",
    ];
    let (out, ()) = tokio::join!(mesh.ctl(&args), async {
        eventually(WAIT, "the fault is in force", || async {
            imported_ready(&b, "a", "demo", "web").await.filter(|r| !*r)
        })
        .await;
        agent.stop();
    });
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.is_empty(), "no report on failure: {out:?}");
    for said in [
        "error: probe run from b (node b-node1): no report for 3.0s; did its node agent stop?",
        "hint: check the node agents of b with `ctl status --context b`",
        "restoring cluster a before exiting",
        "restored: fault",
    ] {
        assert!(out.stderr.contains(said), "{said:?} not in {}", out.stderr);
    }
    assert_restored(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drills_that_cannot_work_are_refused_before_any_fault() {
    let mesh = Mesh::new();
    let a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let _b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;

    let out = refused(&mesh, "demo/nope").await;
    assert!(
        out.stderr.contains(
            "error: refusing to drill demo/nope in a:\n  - demo/nope is not a global service in cluster a"
        ),
        "{}",
        out.stderr
    );

    // b is not connected to a: nobody to probe from.
    let out = refused(&mesh, "demo/web").await;
    assert!(
        out.stderr.contains(
            "  - no other connected cluster has demo/web and sends it to a's backends\n  - context b: does not import a"
        ),
        "{}",
        out.stderr
    );
    assert_nothing_injected(&a).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_without_an_agent_to_probe_from_is_refused() {
    let mesh = Mesh::new();
    let (a, _b) = mesh.connected_pair().await;
    let out = refused(&mesh, "demo/web").await;
    assert!(
        out.stderr.contains(
            "error: refusing to drill demo/web in a:\n  - b: no agent to probe from: context b"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("no agent of this cluster has a probe stream open")
    );
    assert_nothing_injected(&a).await;
}

/// `ctl drill failover` on a's `service`, which must be refused (exit status 1).
async fn refused(mesh: &Mesh, service: &str) -> crate::support::Output {
    let out = mesh
        .ctl(&["drill", "failover", "--context", "a", "--service", service])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    out
}

/// A refused drill injected no fault: clearing every fault clears none.
async fn assert_nothing_injected(a: &crate::support::TestCluster) {
    let status = admin(a)
        .await
        .clear_fault(pb::ClearFaultRequest { fault_id: 0 })
        .await
        .expect("ClearFault");
    assert_eq!(status.into_inner().cleared, 0, "nothing was injected");
}

/// Notes kept, progress dropped.
#[derive(Default)]
struct Notes(Vec<String>);

impl ctl::drill::Feedback for Notes {
    fn progress(&mut self, _line: &str) {}

    fn note(&mut self, line: &str) {
        self.0.push(line.to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_drill_restores_the_fault() {
    let mesh = Mesh::new();
    let (a, b) = mesh.connected_pair().await;
    let _agent = FakeAgent::start(&b, "b-node1", "a", "demo", "web").await;
    eventually(WAIT, "b imports a's backend ready", || async {
        imported_ready(&b, "a", "demo", "web").await.filter(|r| *r)
    })
    .await;

    // The library entry point, with Ctrl-C simulated once the fault is in force.
    clustermesh_proto::tls::install_crypto_provider();
    let config = ClientConfig::load(&mesh.config).expect("config");
    let options = FailoverOptions {
        context: "a".into(),
        namespace: "demo".into(),
        name: "web".into(),
        fault: FaultKind::Backends,
        rate: 20,
        duration: Duration::from_secs(20),
        timeout: WAIT,
        timeouts: Timeouts::default(),
        progress_every: Duration::from_secs(1),
    };
    let interrupt = async {
        eventually(WAIT, "the fault is in force", || async {
            imported_ready(&b, "a", "demo", "web").await.filter(|r| !*r)
        })
        .await;
    };
    let mut notes = Notes::default();
    let result = drill::failover(
        &config,
        &options,
        &Timings::default(),
        &mut notes,
        interrupt,
    )
    .await;
    assert!(matches!(result, Err(DrillError::Interrupted)), "{result:?}");
    let notes = notes.0.join("\n");
    for said in [
        "interrupted: restoring cluster a before exiting",
        "restoring: clearing fault",
        "restored: fault",
    ] {
        assert!(notes.contains(said), "{said:?} not in {notes}");
    }
    assert_restored(&a, &b).await;
}
