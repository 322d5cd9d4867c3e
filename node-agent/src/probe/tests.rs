//! A run against real sockets on loopback: every probe is reported once, failures say
//! why, counters ride along, cancel ends the run early with a final report.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use async_trait::async_trait;
use clustermesh_proto::pb;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ConnectionCounters, run};
use crate::exec::ExecError;

struct Fixed;

#[async_trait]
impl ConnectionCounters for Fixed {
    async fn per_cluster(&self, _: SocketAddr) -> Result<BTreeMap<String, u64>, ExecError> {
        Ok(BTreeMap::from([("a".to_owned(), 7)]))
    }
}

fn assignment(target: SocketAddr, rate: u32, duration_ms: u64) -> pb::ProbeAssignment {
    pb::ProbeAssignment {
        run_id: 9,
        target: target.to_string(),
        service: "shop/web".into(),
        rate_per_second: rate,
        duration_ms,
        cancel: false,
    }
}

/// Every report of one run, up to and including the one marked done.
async fn collect(mut rx: mpsc::Receiver<pb::ProbeReport>) -> Vec<pb::ProbeReport> {
    let mut reports = Vec::new();
    while let Some(report) = rx.recv().await {
        let done = report.done;
        reports.push(report);
        if done {
            break;
        }
    }
    reports
}

fn results(reports: &[pb::ProbeReport]) -> Vec<pb::ProbeResult> {
    let mut all: Vec<_> = reports.iter().flat_map(|r| r.results.clone()).collect();
    all.sort_by_key(|r| r.seq);
    all
}

#[tokio::test]
async fn every_probe_to_a_listening_port_succeeds_and_is_reported_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let target = listener.local_addr().expect("addr");
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let (tx, rx) = mpsc::channel(64);
    run(
        assignment(target, 100, 500),
        None,
        Arc::new(Fixed),
        tx,
        CancellationToken::new(),
    )
    .await;
    let reports = collect(rx).await;
    accepting.abort();

    let all = results(&reports);
    assert!(
        all.len() >= 10,
        "only {} probes in 500 ms at 100/s",
        all.len()
    );
    let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (0..all.len() as u64).collect::<Vec<_>>(),
        "each once, none lost"
    );
    assert!(all.iter().all(|r| r.ok && r.error.is_empty()), "{all:?}");
    assert!(reports.last().expect("reports").done);
    assert_eq!(reports.iter().filter(|r| r.done).count(), 1);
    assert!(reports.iter().all(|r| r.run_id == 9));
    let last = &reports.last().expect("reports").samples;
    assert_eq!(last[0].connections_per_cluster.get("a"), Some(&7));
}

#[tokio::test]
async fn probes_to_a_closed_port_fail_with_the_reason() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let (tx, rx) = mpsc::channel(64);
    run(
        assignment(closed, 50, 200),
        Some("127.0.0.1".parse().expect("ip")),
        Arc::new(Fixed),
        tx,
        CancellationToken::new(),
    )
    .await;
    let all = results(&collect(rx).await);
    assert!(!all.is_empty());
    assert!(all.iter().all(|r| !r.ok), "{all:?}");
    assert!(
        all[0].error.to_lowercase().contains("refused"),
        "{:?}",
        all[0].error
    );
}

#[tokio::test]
async fn cancel_ends_the_run_with_a_final_report() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let target = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let running = tokio::spawn(run(
        assignment(target, 20, 600_000),
        None,
        Arc::new(Fixed),
        tx,
        cancel.clone(),
    ));
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("a cancelled run ends at once")
        .expect("no panic");
    let reports = collect(rx).await;
    assert!(reports.last().is_some_and(|r| r.done));
}

#[tokio::test]
async fn a_bad_target_is_one_final_report_with_the_reason() {
    let (tx, rx) = mpsc::channel(4);
    let mut bad = assignment("127.0.0.1:1".parse().expect("addr"), 10, 100);
    bad.target = "not-an-address".into();
    run(bad, None, Arc::new(Fixed), tx, CancellationToken::new()).await;
    let reports = collect(rx).await;
    assert_eq!(reports.len(), 1);
    assert!(reports[0].done && reports[0].error.contains("not-an-address"));
}
