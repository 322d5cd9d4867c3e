//! `ctl services`: backends of both clusters, their health and the selection.

use crate::support::Mesh;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_show_backends_from_both_clusters() {
    let mesh = Mesh::new();
    let (_a, _b) = mesh.connected_pair().await;

    // Cluster a's backend names its node, whose agent never registered, so a's own
    // agents would not use it; b's names no node. Seen from a:
    let report = mesh
        .ok(&["services", "--context", "a", "-o", "json"])
        .await
        .json();
    assert_eq!(
        (&report["context"], &report["cluster"]),
        (&"a".into(), &"a".into())
    );
    let web = &report["services"][0];
    assert_eq!(
        (&web["namespace"], &web["name"]),
        (&"demo".into(), &"web".into())
    );
    assert_eq!(web["vip"], "10.96.1.10");
    assert_eq!(web["affinity"], "none");
    let clusters = web["clusters"].as_array().expect("clusters");
    let names: Vec<&str> = clusters
        .iter()
        .map(|c| c["cluster"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["a", "b"]);
    let (a_backend, b_backend) = (&clusters[0]["backends"][0], &clusters[1]["backends"][0]);
    assert_eq!(a_backend["ip"], "10.1.0.10");
    assert_eq!(a_backend["node_lease"], "expired");
    assert_eq!(a_backend["selected"], false);
    assert_eq!(b_backend["ip"], "10.2.0.10");
    assert_eq!(
        (&b_backend["ready"], &b_backend["selected"]),
        (&true.into(), &true.into())
    );
    assert_eq!(clusters[1]["reachable"], true);
    assert_eq!(
        web["frontends"],
        serde_json::json!([{"vip": "10.96.1.10", "port": 80, "protocol": "TCP",
            "backends": [{"cluster": "b", "ip": "10.2.0.10", "port": 8080}]}])
    );

    // Seen from b, both are selected: a's node lease is not visible from b.
    let out = mesh.ok(&["services", "--context", "b"]).await;
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "demo/web  vip 10.96.2.10  ports http:80/TCP  affinity none"
    );
    // The local cluster comes first.
    assert!(lines[2].starts_with("  b (local)"), "{}", out.stdout);
    let a_row: Vec<&str> = lines[3].split_whitespace().collect();
    assert_eq!(
        a_row,
        [
            "a",
            "yes",
            "yes",
            "10.1.0.10",
            "a-node1",
            "unknown",
            "yes",
            "yes"
        ]
    );
    assert_eq!(
        lines[4],
        "  10.96.2.10:80/TCP -> 10.1.0.10:8080 (a), 10.2.0.10:8080 (b)"
    );
}
