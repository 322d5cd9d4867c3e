//! Faults lift by TTL or on request; the probe hub relays assignments and reports and
//! cancels a run whose caller went away.

use std::time::Duration;

use clustermesh_proto::pb;
use tokio_util::sync::CancellationToken;

use super::{Fault, FaultError, Faults, HubError, MAX_FAULT_TTL, ProbeHub, ServiceRef};

fn web() -> ServiceRef {
    ServiceRef {
        namespace: "shop".into(),
        name: "web".into(),
    }
}

#[test]
fn a_fault_is_in_force_until_cleared() {
    let faults = Faults::default();
    let (id, _) = faults
        .inject(Fault::Backends(web()), Duration::from_secs(30))
        .expect("injected");
    assert!(faults.current().withdraws(&web()));
    assert!(!faults.current().cluster_cut());
    assert_eq!(faults.clear(id), Ok(1));
    assert!(faults.current().is_empty());
    assert_eq!(faults.clear(id), Err(FaultError::NotFound(id)));
}

#[test]
fn clearing_zero_lifts_every_fault() {
    let faults = Faults::default();
    for fault in [Fault::Cluster, Fault::Backends(web())] {
        faults
            .inject(fault, Duration::from_secs(30))
            .expect("injected");
    }
    assert_eq!(faults.clear(0), Ok(2));
    assert_eq!(faults.clear(0), Ok(0), "nothing left is not an error");
}

#[test]
fn a_ttl_out_of_range_is_refused() {
    let faults = Faults::default();
    for ttl in [Duration::ZERO, MAX_FAULT_TTL + Duration::from_millis(1)] {
        let err = faults.inject(Fault::Cluster, ttl).expect_err("refused");
        assert!(
            err.to_string()
                .contains("ttl_ms must be between 1 and 600000"),
            "{err}"
        );
    }
    assert!(faults.current().is_empty());
}

#[tokio::test(start_paused = true)]
async fn faults_lift_by_themselves_when_their_ttl_runs_out() {
    let faults = Faults::default();
    let shutdown = CancellationToken::new();
    let expiry = tokio::spawn(faults.clone().expire(shutdown.clone()));
    faults
        .inject(Fault::Cluster, Duration::from_secs(5))
        .expect("injected");
    faults
        .inject(Fault::Backends(web()), Duration::from_secs(60))
        .expect("injected");
    let mut changes = faults.subscribe();
    changes
        .wait_for(|set| !set.cluster_cut())
        .await
        .expect("the cut lifts");
    assert!(faults.current().withdraws(&web()), "the longer fault stays");
    changes
        .wait_for(|set| set.is_empty())
        .await
        .expect("every fault lifts");
    shutdown.cancel();
    expiry.await.expect("expiry task ends on shutdown");
}

#[tokio::test]
async fn cut_resolves_once_the_cluster_is_cut() {
    let faults = Faults::default();
    let waiting = tokio::spawn({
        let faults = faults.clone();
        async move { faults.cut().await }
    });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    faults
        .inject(Fault::Cluster, Duration::from_secs(5))
        .expect("injected");
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("resolves")
        .expect("no panic");
}

fn assignment() -> pb::ProbeAssignment {
    pb::ProbeAssignment {
        target: "10.96.0.10:80".into(),
        service: "shop/web".into(),
        rate_per_second: 50,
        duration_ms: 1000,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_run_reaches_an_attached_agent_and_its_reports_reach_the_caller() {
    let hub = ProbeHub::default();
    assert_eq!(
        hub.start(None, &["n1".into()], assignment()).await.err(),
        Some(HubError::NoAgent)
    );
    let mut agent = hub.attach("n1");
    let mut run = hub
        .start(None, &["n0".into(), "n1".into()], assignment())
        .await
        .expect("started");
    assert_eq!(run.node, "n1");
    let got = agent.assignments.recv().await.expect("assignment");
    assert_eq!(got.run_id, run.run_id);
    assert_eq!(got.target, "10.96.0.10:80");

    for done in [false, true] {
        hub.deliver(pb::ProbeReport {
            run_id: run.run_id,
            done,
            ..Default::default()
        })
        .await;
    }
    assert!(!run.reports.recv().await.expect("first").done);
    assert!(run.reports.recv().await.expect("last").done);
    assert!(
        run.reports.recv().await.is_none(),
        "the run ends with its last report"
    );
    drop(run);
    assert!(
        agent.assignments.try_recv().is_err(),
        "a finished run is not cancelled"
    );
}

#[tokio::test]
async fn a_caller_that_goes_away_cancels_its_run_and_a_detached_agent_is_gone() {
    let hub = ProbeHub::default();
    let mut agent = hub.attach("n1");
    let run = hub
        .start(Some("n1"), &[], assignment())
        .await
        .expect("started");
    let run_id = run.run_id;
    agent.assignments.recv().await.expect("assignment");
    drop(run);
    let cancel = agent.assignments.recv().await.expect("cancel");
    assert!(cancel.cancel && cancel.run_id == run_id, "{cancel:?}");
    // Reports of a cancelled run go nowhere, without blocking the agent's stream.
    hub.deliver(pb::ProbeReport {
        run_id,
        ..Default::default()
    })
    .await;

    drop(agent);
    assert!(hub.attached().is_empty());
    assert_eq!(
        hub.start(Some("n1"), &[], assignment()).await.err(),
        Some(HubError::NodeNotAttached("n1".into()))
    );
}

#[tokio::test]
async fn a_reconnected_agent_replaces_its_old_stream() {
    let hub = ProbeHub::default();
    let old = hub.attach("n1");
    let mut new = hub.attach("n1");
    drop(old);
    assert_eq!(
        hub.attached(),
        vec!["n1".to_owned()],
        "the new stream stays"
    );
    let run = hub
        .start(Some("n1"), &[], assignment())
        .await
        .expect("started");
    assert_eq!(
        new.assignments.recv().await.expect("assignment").run_id,
        run.run_id
    );
}
