//! `ctl connect`: the exchange, its idempotence, and the documented refusals.

use crate::support::{Mesh, Ranges};

const CONNECT: [&str; 5] = ["connect", "--context", "a", "--destination-context", "b"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_then_status_is_healthy() {
    let mesh = Mesh::new();
    let _a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let _b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;

    let out = mesh
        .ok(&[&CONNECT[..], &["--wait", "--timeout", "60s", "-o", "json"]].concat())
        .await;
    let report = out.json();
    assert_eq!(report["already_connected"], false);
    assert_eq!(report["links"][0]["action"], "installed");
    assert_eq!(report["links"][1]["action"], "installed");
    assert_eq!(report["a"]["id"], 1);
    assert_eq!(report["b"]["pod_cidrs"], serde_json::json!(["10.2.0.0/16"]));
    assert!(report["synced_after_ms"].is_u64(), "{report}");
    assert!(
        out.stderr.contains("a imports b: exchanging certificates"),
        "{out:?}"
    );

    let status = mesh.ok(&["status", "-o", "json"]).await.json();
    assert_eq!(status["healthy"], true, "{status:#}");
    let clusters = status["clusters"].as_array().expect("clusters");
    assert_eq!(clusters.len(), 2);
    for (cluster, peer) in [(&clusters[0], "b"), (&clusters[1], "a")] {
        assert_eq!(cluster["apiserver"]["ready"], true);
        let peers = cluster["peers"].as_array().expect("peers");
        assert_eq!(peers.len(), 1);
        assert_eq!(peers[0]["name"], peer);
        assert_eq!(peers[0]["synced"], true);
        assert_eq!(peers[0]["record_counts"]["services"], 1);
        assert_eq!(cluster["store"]["backend"], "memory");
    }
    let table = mesh.ok(&["status"]).await;
    assert!(
        table.stdout.trim_end().ends_with(
            "healthy: 2 clusters ready, 2 peer links connected, reachable and synced, 2 nodes"
        ),
        "{}",
        table.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_again_is_a_no_op() {
    let mesh = Mesh::new();
    let (_a, _b) = mesh.connected_pair().await;
    let out = mesh.ok(&CONNECT).await;
    assert!(
        out.stdout
            .contains("a and b are already connected; nothing to do"),
        "{out:?}"
    );
    let report = mesh
        .ok(&[&CONNECT[..], &["-o", "json"]].concat())
        .await
        .json();
    assert_eq!(report["already_connected"], true);
    assert_eq!(report["links"][0]["action"], "unchanged");
    // The other way round is the same pair.
    let out = mesh
        .ok(&["connect", "--context", "b", "--destination-context", "a"])
        .await;
    assert!(out.stdout.contains("already connected"), "{out:?}");
}

/// Refused before anything changes: neither side imports the other afterwards.
async fn assert_refused(mesh: &Mesh, expected: &str) {
    let out = mesh.ctl(&CONNECT).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("error: refusing to connect a and b:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("  - {expected}\n")),
        "{}",
        out.stderr
    );
    let status = mesh.ok(&["status", "-o", "json"]).await.json();
    for cluster in status["clusters"].as_array().expect("clusters") {
        assert_eq!(cluster["peers"], serde_json::json!([]), "{cluster:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_cluster_id_is_refused() {
    let mesh = Mesh::new();
    let _a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let _b = mesh.cluster("b", 1, Ranges::of(2), "10.2.0.0/16").await;
    assert_refused(&mesh, "cluster id 1 is used by both a and b").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_pod_cidrs_are_refused() {
    let mesh = Mesh::new();
    let _a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let overlapping = Ranges { net: 1, sub: 128 };
    let _b = mesh.cluster("b", 2, overlapping, "10.1.128.0/17").await;
    assert_refused(
        &mesh,
        "pod CIDR 10.1.0.0/16 of a overlaps 10.1.128.0/17 of b",
    )
    .await;
}
