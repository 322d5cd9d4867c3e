//! `ctl disconnect`: both sides stop importing; a second run finds nothing to remove.

use crate::support::Mesh;

const DISCONNECT: [&str; 5] = ["disconnect", "--context", "a", "--destination-context", "b"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_removes_both_sides_and_is_repeatable() {
    let mesh = Mesh::new();
    let (_a, _b) = mesh.connected_pair().await;

    let out = mesh.ok(&DISCONNECT).await;
    assert_eq!(
        out.stdout,
        "a no longer imports b\nb no longer imports a\ndisconnected a and b\n"
    );
    let status = mesh.ok(&["status", "-o", "json"]).await.json();
    for cluster in status["clusters"].as_array().expect("clusters") {
        assert_eq!(cluster["peers"], serde_json::json!([]), "{cluster:#}");
    }

    let again = mesh
        .ok(&[&DISCONNECT[..], &["-o", "json"]].concat())
        .await
        .json();
    assert_eq!(
        again["removals"],
        serde_json::json!([
            {"importer": "a", "peer": "b", "outcome": "not_found"},
            {"importer": "b", "peer": "a", "outcome": "not_found"},
        ])
    );
    let out = mesh.ok(&DISCONNECT).await;
    assert!(
        out.stdout
            .contains("a and b were not connected; nothing changed"),
        "{out:?}"
    );

    // And they can be connected again.
    let out = mesh
        .ok(&[
            "connect",
            "--context",
            "a",
            "--destination-context",
            "b",
            "--wait",
            "--timeout",
            "60s",
        ])
        .await;
    assert!(out.stdout.contains("connected a and b"), "{out:?}");
}
