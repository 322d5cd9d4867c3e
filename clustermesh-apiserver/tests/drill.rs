//! The drill RPCs between in-process apiservers: probe runs relayed between an admin
//! and an agent's `Mesh.Probes` stream (and cancelled when the admin goes away), a
//! backends fault that exports the service's backends as not ready until cleared or
//! expired, a cluster fault that cuts the cluster from its peers, and the refusals.

mod support;

use std::time::Duration;

use clustermesh_proto::{Record, pb};
use futures::StreamExt as _;
use support::{TestCluster, connect, within};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

fn probes_of_web(node: &str) -> pb::RunProbesRequest {
    pb::RunProbesRequest {
        namespace: "demo".into(),
        name: "web".into(),
        rate_per_second: 10,
        duration_ms: 1000,
        node: node.into(),
    }
}

#[tokio::test]
async fn a_probe_run_is_relayed_to_the_agent_and_its_reports_back() {
    let a = TestCluster::start("a", 1).await;
    a.wait_synced().await;
    let mut agent = a.agent("a-node1").await;
    let (reports, outbound) = mpsc::channel(8);
    let mut assignments = agent
        .probes(ReceiverStream::new(outbound))
        .await
        .expect("probe stream")
        .into_inner();

    let mut admin = a.admin().await;
    let mut run = within_ok(|| {
        let mut admin = admin.clone();
        async move {
            admin
                .run_probes(probes_of_web("a-node1"))
                .await
                .map(tonic::Response::into_inner)
        }
    })
    .await;
    let assignment = assignments
        .next()
        .await
        .expect("an assignment")
        .expect("not an error");
    assert_eq!(assignment.target, "10.96.1.10:80", "the VIP and TCP port");
    assert_eq!(assignment.service, "demo/web");
    assert_eq!(
        (assignment.rate_per_second, assignment.duration_ms),
        (10, 1000)
    );

    for done in [false, true] {
        reports
            .send(pb::ProbeReport {
                run_id: assignment.run_id,
                results: vec![pb::ProbeResult {
                    seq: u64::from(done),
                    ok: true,
                    ..Default::default()
                }],
                done,
                ..Default::default()
            })
            .await
            .expect("report sent");
    }
    let first = run.next().await.expect("a report").expect("ok");
    assert_eq!(
        first.node, "a-node1",
        "the apiserver names the probing node"
    );
    let last = run.next().await.expect("the last report").expect("ok");
    assert!(last.done);
    assert!(
        run.next().await.is_none(),
        "the run ends with its last report"
    );

    // A caller that goes away cancels the run at the agent.
    let run = admin
        .run_probes(probes_of_web("a-node1"))
        .await
        .expect("second run")
        .into_inner();
    let second = assignments.next().await.expect("assignment").expect("ok");
    drop(run);
    let cancel = tokio::time::timeout(WAIT, assignments.next())
        .await
        .expect("a cancel within the deadline")
        .expect("stream open")
        .expect("ok");
    assert!(
        cancel.cancel && cancel.run_id == second.run_id,
        "{cancel:?}"
    );
}

/// RunProbes may race the agent's stream registering: retried briefly.
async fn within_ok<T, F, Fut>(mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(status)
                if status.code() == Code::FailedPrecondition
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("{status}"),
        }
    }
}

#[tokio::test]
async fn probe_runs_are_refused_with_reasons() {
    let a = TestCluster::start("a", 1).await;
    a.wait_synced().await;
    let mut admin = a.admin().await;
    let cases = [
        (
            pb::RunProbesRequest {
                name: "nope".into(),
                ..probes_of_web("")
            },
            Code::NotFound,
            "demo/nope is not a global service of cluster a",
        ),
        (
            pb::RunProbesRequest {
                rate_per_second: 0,
                ..probes_of_web("")
            },
            Code::InvalidArgument,
            "rate_per_second must be 1 to 1000",
        ),
        (
            probes_of_web(""),
            Code::FailedPrecondition,
            "no agent of this cluster has a probe stream open",
        ),
        (
            probes_of_web("a-node9"),
            Code::FailedPrecondition,
            "node a-node9 has no probe stream open",
        ),
    ];
    for (request, code, message) in cases {
        let status = admin.run_probes(request).await.expect_err("refused");
        assert_eq!(status.code(), code, "{status}");
        assert!(status.message().contains(message), "{status}");
    }
}

/// Whether every backend of `cluster`'s demo/web, as `importer` holds it, is `ready`.
async fn web_backends_ready(importer: &TestCluster, cluster: &str, ready: bool) -> bool {
    importer.records_of(cluster).await.iter().any(|r| {
        matches!(r, Record::GlobalService(s) if !s.backends.is_empty()
            && s.backends.iter().all(|b| b.ready == ready))
    })
}

fn backends_fault(ttl_ms: u64) -> pb::InjectFaultRequest {
    pb::InjectFaultRequest {
        kind: pb::FaultKind::Backends.into(),
        namespace: "demo".into(),
        name: "web".into(),
        ttl_ms,
    }
}

#[tokio::test]
async fn a_backends_fault_withdraws_them_from_the_export_until_cleared_or_expired() {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    a.wait_synced().await;
    b.wait_synced().await;
    connect(&a, &b).await.expect("connect");
    within(WAIT, "b imports a's ready backend", || {
        web_backends_ready(&b, "a", true)
    })
    .await;

    let mut admin = a.admin().await;
    let fault = admin
        .inject_fault(backends_fault(30_000))
        .await
        .expect("injected")
        .into_inner();
    assert!(fault.fault_id > 0 && fault.expires_unix_ms > 0);
    within(WAIT, "b sees a's backend not ready", || {
        web_backends_ready(&b, "a", false)
    })
    .await;
    let cleared = admin
        .clear_fault(pb::ClearFaultRequest {
            fault_id: fault.fault_id,
        })
        .await
        .expect("cleared")
        .into_inner();
    assert_eq!(cleared.cleared, 1);
    within(WAIT, "b sees a's backend ready again", || {
        web_backends_ready(&b, "a", true)
    })
    .await;

    // A drill whose driver died: the fault lifts by itself.
    admin
        .inject_fault(backends_fault(300))
        .await
        .expect("injected");
    within(WAIT, "the short fault takes effect", || {
        web_backends_ready(&b, "a", false)
    })
    .await;
    within(WAIT, "the short fault expires", || {
        web_backends_ready(&b, "a", true)
    })
    .await;

    let status = admin
        .clear_fault(pb::ClearFaultRequest { fault_id: 999 })
        .await
        .expect_err("unknown fault");
    assert_eq!(status.code(), Code::NotFound, "{status}");
    let status = admin
        .inject_fault(pb::InjectFaultRequest {
            kind: pb::FaultKind::Unspecified.into(),
            ..backends_fault(1000)
        })
        .await
        .expect_err("no kind");
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
}

async fn b_sees_a_reachable(b: &TestCluster, reachable: bool) -> bool {
    let Ok(status) = b.admin().await.get_status(pb::GetStatusRequest {}).await else {
        return false;
    };
    status
        .into_inner()
        .peers
        .iter()
        .any(|p| p.name == "a" && p.reachable == reachable)
}

#[tokio::test]
async fn a_cluster_fault_cuts_the_cluster_from_its_peers_until_cleared() {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    a.wait_synced().await;
    b.wait_synced().await;
    connect(&a, &b).await.expect("connect");
    within(WAIT, "b reaches a", || b_sees_a_reachable(&b, true)).await;

    let mut admin = a.admin().await;
    admin
        .inject_fault(pb::InjectFaultRequest {
            kind: pb::FaultKind::Cluster.into(),
            ttl_ms: 60_000,
            ..Default::default()
        })
        .await
        .expect("injected");
    within(WAIT, "b sees a unreachable", || {
        b_sees_a_reachable(&b, false)
    })
    .await;
    admin
        .clear_fault(pb::ClearFaultRequest { fault_id: 0 })
        .await
        .expect("cleared");
    within(WAIT, "b reaches a again", || b_sees_a_reachable(&b, true)).await;
}
