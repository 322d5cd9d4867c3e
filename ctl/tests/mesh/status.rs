//! `ctl status`: exit status follows health; `--wait` polls until healthy.

use std::time::Duration;

use crate::support::{Mesh, Ranges, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_fails_when_a_peer_is_down() {
    let mesh = Mesh::new();
    let (_a, mut b) = mesh.connected_pair().await;
    mesh.ok(&["status", "--context", "a"]).await;
    b.stop().await;

    // a sees the stream close at once, and b unreachable within its peer timeout
    // (3 s by default); the exit status says so from the first moment.
    let out = eventually(
        Duration::from_secs(30),
        "a reports b unreachable",
        || async {
            let out = mesh.ctl(&["status", "--context", "a", "-o", "json"]).await;
            assert_eq!(out.code, 1, "{out:?}");
            out.stdout
                .contains("peer b is not reachable")
                .then_some(out)
        },
    )
    .await;
    let cluster = &out.json()["clusters"][0];
    assert_eq!(cluster["healthy"], false);
    let problems: Vec<&str> = cluster["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().expect("text"))
        .collect();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("peer b is not reachable")),
        "{problems:?}"
    );
    assert_eq!(cluster["peers"][0]["reachable"], false);

    let out = mesh.ctl(&["status", "--context", "a"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("problem: peer b is not reachable"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("NOT healthy"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_wait_polls_until_healthy() {
    let mesh = Mesh::new();
    let _a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let _b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
    mesh.ok(&["connect", "--context", "a", "--destination-context", "b"])
        .await;
    let out = mesh
        .ok(&["status", "--wait", "--timeout", "60s", "-o", "json"])
        .await;
    assert_eq!(out.json()["healthy"], true);
    // Progress goes to stderr, one plain line per change, never into the JSON.
    assert!(
        out.stderr.lines().all(|l| l.starts_with("waiting ")),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_wait_gives_up_at_the_timeout() {
    let mesh = Mesh::new();
    let _a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let mut b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
    b.stop().await;
    let out = mesh.ctl(&["status", "--wait", "--timeout", "3s"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("error: timed out after 3.0s waiting for a healthy mesh"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("waiting "),
        "progress lines: {}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_list_shows_what_init_wrote() {
    let mesh = Mesh::new();
    let a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
    let list = mesh.ok(&["context", "list", "-o", "json"]).await.json();
    assert_eq!(list["current_context"], "a");
    assert_eq!(list["contexts"][0]["server"], a.addr.to_string());
    assert_eq!(list["contexts"][1]["server"], b.addr.to_string());
    assert_eq!(list["contexts"][1]["current"], false);
    let out = mesh.ok(&["context", "list"]).await;
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("*        a")),
        "{}",
        out.stdout
    );
}
