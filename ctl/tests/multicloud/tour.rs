//! The tour of `demo.sh`, as assertions: connect every pair with `ctl connect --wait`,
//! a healthy `ctl status`, `ctl services` selecting the echo backends of all three
//! clouds, and the VIP answered from several clouds in every cloud.

use std::{collections::BTreeSet, time::Duration};

use serde_json::Value;

use crate::{
    demo::{CLOUDS, Demo, VIP, cloud_id, others},
    json::{backends, find, service, str_of},
    vip,
};

const TAG: &str = "mctr";

#[test]
fn tour_connect_status_services_and_the_vip_from_every_cloud() {
    let demo = Demo::up(TAG);

    // 1. ctl connect --wait, for the three pairs.
    for (i, a) in CLOUDS.iter().enumerate() {
        for b in &CLOUDS[i + 1..] {
            let (out, json) = demo.ctl_json(&[
                "connect",
                "--context",
                a,
                "--destination-context",
                b,
                "--wait",
                "--timeout",
                "60s",
            ]);
            let out = out.ok();
            assert_eq!(json["already_connected"], false, "{out}");
            assert!(json["synced_after_ms"].is_u64(), "{out}");
            let links: BTreeSet<(String, String, String)> = json["links"]
                .as_array()
                .expect("links")
                .iter()
                .map(|l| {
                    (
                        str_of(&l["importer"]),
                        str_of(&l["exporter"]),
                        str_of(&l["action"]),
                    )
                })
                .collect();
            let installed = |i: &str, e: &str| (i.to_owned(), e.to_owned(), "installed".to_owned());
            assert_eq!(
                links,
                BTreeSet::from([installed(a, b), installed(b, a)]),
                "{out}"
            );
        }
    }
    // Again: a no-op that says so.
    let (out, json) = demo.ctl_json(&[
        "connect",
        "--context",
        "aws",
        "--destination-context",
        "gcp",
    ]);
    let out = out.ok();
    assert_eq!(json["already_connected"], true, "{out}");

    // 2. ctl status: healthy, exit 0, and every part of it as expected.
    let (out, status) = demo.ctl_json(&["status", "--wait", "--timeout", "60s"]);
    let out = out.ok();
    assert_eq!(status["healthy"], true, "{out}");
    let clusters = status["clusters"].as_array().expect("clusters");
    let contexts: BTreeSet<String> = clusters.iter().map(|c| str_of(&c["context"])).collect();
    assert_eq!(
        contexts,
        CLOUDS.iter().map(|c| c.to_string()).collect(),
        "{out}"
    );
    for cluster in clusters {
        check_cluster(cluster, &out.stdout);
    }

    // 3. ctl services --context aws: default/echo, the echo backends of all three clouds
    //    selected behind the VIP.
    let (out, services) = demo.ctl_json(&["services", "--context", "aws"]);
    let out = out.ok();
    let echo = service(&services, "default", "echo");
    assert_eq!(echo["vip"], VIP, "{out}");
    assert_eq!(echo["affinity"], "none", "{out}");
    assert_eq!(echo["defined_here"], true, "{out}");
    for cloud in CLOUDS {
        let entry = find(echo, "clusters", "cluster", cloud);
        assert_eq!(entry["reachable"], true, "{cloud}: {out}");
        assert_eq!(entry["shared"], true, "{cloud}: {out}");
        let backends = backends(echo, cloud);
        assert_eq!(backends.len(), 1, "{cloud}: {out}");
        assert_eq!(backends[0]["ip"], demo.echo_ip(cloud), "{cloud}: {out}");
        assert_eq!(backends[0]["ready"], true, "{cloud}: {out}");
        assert_eq!(backends[0]["selected"], true, "{cloud}: {out}");
        assert_eq!(backends[0]["reason"], Value::Null, "{cloud}: {out}");
    }
    let frontends = echo["frontends"].as_array().expect("frontends");
    assert_eq!(frontends.len(), 1, "{out}");
    let behind: BTreeSet<String> = frontends[0]["backends"]
        .as_array()
        .expect("frontend backends")
        .iter()
        .map(|b| format!("{}:{}", str_of(&b["ip"]), b["port"]))
        .collect();
    let expected: BTreeSet<String> = CLOUDS
        .iter()
        .map(|c| format!("10.{}.1.10:8080", cloud_id(c)))
        .collect();
    assert_eq!(behind, expected, "{out}");

    // 4. The VIP from each cloud's client pod: answers from at least two clouds.
    for cloud in CLOUDS {
        let (seen, requests) = vip::wait_answers_from(&demo, cloud, 2, Duration::from_secs(30));
        eprintln!("VIP from {cloud}'s client: answered by {seen:?} within {requests} requests");
    }

    demo.down();
}

/// One cluster of `ctl status -o json` in the connected demo.
fn check_cluster(cluster: &Value, out: &str) {
    let name = str_of(&cluster["context"]);
    let ctx = format!("cluster {name} in:\n{out}");
    assert_eq!(cluster["cluster"]["name"], name, "{ctx}");
    assert_eq!(cluster["cluster"]["id"], cloud_id(&name), "{ctx}");
    assert_eq!(cluster["apiserver"]["reachable"], true, "{ctx}");
    assert_eq!(cluster["apiserver"]["ready"], true, "{ctx}");
    assert_eq!(cluster["store"]["backend"], "raft", "{ctx}");
    assert_eq!(cluster["healthy"], true, "{ctx}");
    assert_eq!(cluster["problems"], Value::Array(vec![]), "{ctx}");
    assert_eq!(cluster["warnings"], Value::Array(vec![]), "{ctx}");

    let peers = cluster["peers"].as_array().expect("peers");
    let names: BTreeSet<String> = peers.iter().map(|p| str_of(&p["name"])).collect();
    let expected: BTreeSet<String> = others(&name).into_iter().map(str::to_owned).collect();
    assert_eq!(names, expected, "{ctx}");
    for peer in peers {
        for field in ["connected", "reachable", "synced", "healthy"] {
            assert_eq!(peer[field], true, "peer {} {field}: {ctx}", peer["name"]);
        }
        assert_eq!(peer["missing_kinds"], Value::Array(vec![]), "{ctx}");
        assert_eq!(
            peer["synced_kinds"].as_array().map(Vec::len),
            Some(5),
            "{ctx}"
        );
    }

    let nodes = cluster["nodes"].as_array().expect("nodes");
    let names: BTreeSet<String> = nodes.iter().map(|n| str_of(&n["name"])).collect();
    let expected: BTreeSet<String> = [1, 2].map(|n| format!("{name}-node{n}")).into();
    assert_eq!(names, expected, "{ctx}");
    for node in nodes {
        assert_eq!(node["registered"], true, "node {}: {ctx}", node["name"]);
        assert_eq!(node["healthy"], true, "node {}: {ctx}", node["name"]);
        // Both nodes of each of the two other clouds.
        assert_eq!(
            node["tunnels"]["expected"], 4,
            "node {}: {ctx}",
            node["name"]
        );
        assert_eq!(node["tunnels"]["up"], 4, "node {}: {ctx}", node["name"]);
    }
}
