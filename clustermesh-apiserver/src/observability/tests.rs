mod harness;

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::timeout;

use super::*;
use harness::{get, start};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn healthz_is_ok_while_serving() {
    let (health, _reporter) = Health::new();
    let server = start(Metrics::new(), health).await;
    let reply = get(server.addr, "/healthz").await;
    assert_eq!((reply.status, reply.body.trim()), (200, "ok"));
    assert_eq!(get(server.addr, "/nope").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn readyz_lists_unready_conditions_until_all_are_ready() {
    let (health, reporter) = Health::new();
    reporter.register("store");
    reporter.set_ready("source", true);
    reporter.set_not_ready("export", "3 writes failed");
    let server = start(Metrics::new(), health).await;

    let reply = get(server.addr, "/readyz").await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        reply.body,
        "export: not ready: 3 writes failed\nstore: not ready: starting\n"
    );

    reporter.set_ready("store", true);
    reporter.set_ready("export", false);
    let reply = get(server.addr, "/readyz").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (503, "export: not ready\n")
    );

    reporter.set_ready("export", true);
    let reply = get(server.addr, "/readyz").await;
    assert_eq!((reply.status, reply.body.trim()), (200, "ok"));
    server.stop().await;
}

fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[tokio::test]
async fn metrics_serves_every_family_with_its_labels() {
    let metrics = Metrics::new();
    metrics.set_records("a", "nodes", 3);
    metrics.set_peer_connected("b", true);
    metrics.set_peer_reachable("b", false);
    metrics.set_peer_synced("b", true);
    metrics.set_peer_last_heartbeat("b", 1_700_000_000_500);
    metrics.observe_import_lag("b", Duration::from_millis(15));
    metrics.inc_import_events("b", 5);
    metrics.add_import_errors("b", "invalid_record", 1);
    let _guard = metrics.watch_client_guard("peer");
    metrics.set_source_parse_errors(2);
    metrics.set_source_generation(7);
    metrics.set_export_warnings(1);
    metrics.inc_export_writes(4);
    let (health, _reporter) = Health::new();
    let server = start(metrics.clone(), health).await;

    let reply = get(server.addr, "/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some(OPENMETRICS_CONTENT_TYPE)
    );
    let body = reply.body;
    for expected in [
        r#"clustermesh_records{cluster="a",kind="nodes"} 3"#,
        r#"clustermesh_peer_connected{peer="b"} 1"#,
        r#"clustermesh_peer_reachable{peer="b"} 0"#,
        r#"clustermesh_peer_synced{peer="b"} 1"#,
        r#"clustermesh_peer_last_heartbeat_timestamp_seconds{peer="b"} 1700000000.5"#,
        r#"clustermesh_import_lag_seconds_count{peer="b"} 1"#,
        r#"clustermesh_import_lag_seconds_bucket{le="0.001",peer="b"} 0"#,
        r#"clustermesh_import_lag_seconds_bucket{le="10.0",peer="b"} 1"#,
        r#"clustermesh_import_lag_seconds_bucket{le="0.01",peer="b"} 0"#,
        r#"clustermesh_import_lag_seconds_bucket{le="0.02",peer="b"} 1"#,
        r#"clustermesh_import_events_total{peer="b"} 5"#,
        r#"clustermesh_import_errors_total{peer="b",reason="invalid_record"} 1"#,
        r#"clustermesh_watch_clients{api="peer"} 1"#,
        "clustermesh_source_parse_errors 2",
        "clustermesh_source_generation 7",
        "clustermesh_export_warnings 1",
        "clustermesh_export_writes_total 4",
        "# UNIT clustermesh_import_lag_seconds seconds",
    ] {
        assert!(
            body.lines().any(|l| l == expected),
            "{expected:?} in\n{body}"
        );
    }
    assert_eq!(lines_with(&body, "# HELP").len(), 13, "{body}");
    assert!(body.ends_with("# EOF\n"));
    server.stop().await;
}

#[tokio::test]
async fn forget_peer_removes_its_series() {
    let metrics = Metrics::new();
    for peer in ["b", "c"] {
        metrics.set_records(peer, "nodes", 1);
        metrics.set_records(peer, "services", 2);
        metrics.set_peer_connected(peer, true);
        metrics.set_peer_reachable(peer, true);
        metrics.set_peer_synced(peer, true);
        metrics.set_peer_last_heartbeat(peer, 1);
        metrics.observe_import_lag(peer, Duration::from_millis(1));
        metrics.inc_import_events(peer, 1);
        metrics.add_import_errors(peer, "invalid_record", 1);
        metrics.add_import_errors(peer, "stale_revision", 1);
    }
    metrics.forget_peer("b");
    metrics.forget_peer("never-seen");
    let (health, _reporter) = Health::new();
    let server = start(metrics, health).await;

    let body = get(server.addr, "/metrics").await.body;
    assert_eq!(lines_with(&body, r#""b""#), Vec::<&str>::new());
    // c keeps 2 records, 4 peer gauges, 1 counter, 2 errors and 16 histogram lines.
    let c_lines =
        lines_with(&body, r#"peer="c""#).len() + lines_with(&body, r#"cluster="c""#).len();
    assert_eq!(c_lines, 25, "{body}");
    server.stop().await;
}

#[test]
fn watch_client_guard_decrements_on_drop() {
    let metrics = Metrics::new();
    let count = |api: &str| {
        let needle = format!(r#"clustermesh_watch_clients{{api="{api}"}} "#);
        let text = metrics.encode();
        let line = text.lines().find(|l| l.starts_with(&needle));
        line.map(|l| l[needle.len()..].to_owned())
    };
    let first = metrics.watch_client_guard("mesh");
    let second = metrics.clone().watch_client_guard("mesh");
    let peer = metrics.watch_client_guard("peer");
    assert_eq!(count("mesh").as_deref(), Some("2"));
    drop(first);
    assert_eq!(count("mesh").as_deref(), Some("1"));
    // A stream dropped mid-flight drops its guard with it.
    let stream = async move {
        let _guard = second;
        std::future::pending::<()>().await
    };
    drop(stream);
    assert_eq!(count("mesh").as_deref(), Some("0"));
    assert_eq!(count("peer").as_deref(), Some("1"));
    drop(peer);
    assert_eq!(count("peer").as_deref(), Some("0"));
}

#[tokio::test]
async fn shutdown_ends_serve_despite_an_idle_connection() {
    let (health, _reporter) = Health::new();
    let server = start(Metrics::new(), health).await;
    // A keep-alive client that went quiet must not hold shutdown hostage.
    let idle = TcpStream::connect(server.addr).await.expect("connect");
    assert_eq!(get(server.addr, "/healthz").await.status, 200);
    server.stop().await;
    drop(idle);
}

#[tokio::test]
async fn readiness_follows_the_reporters() {
    let (health, reporter) = Health::new();
    assert!(health.is_ready(), "no conditions registered yet");
    reporter.register("store");
    reporter.register("store");
    assert!(!health.is_ready());

    let waiter = tokio::spawn({
        let health = health.clone();
        async move { health.wait_ready().await }
    });
    reporter.clone().set_ready("store", true);
    let became_ready = timeout(DEADLINE, waiter).await.expect("ready in time");
    assert!(became_ready.expect("waiter did not panic"));

    // Nothing can report a failure once every reporter is gone.
    drop(reporter);
    let readiness = health.readiness();
    assert_eq!(
        readiness.to_string(),
        "health: not ready: every reporter was dropped\n"
    );
    assert!(!health.wait_ready().await);
}
