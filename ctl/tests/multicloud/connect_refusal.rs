//! `ctl connect` refuses a cluster that would clash with the mesh, with exit status 1
//! and the messages docs/cli.md documents ("Validation messages"), and changes nothing.
//!
//! Beside the connected demo, three more clusters run in the hub namespace: `dupid`
//! (aws's id 1), `overlap` (a pod CIDR inside aws's 10.1.0.0/16) and `clash` (onprem's
//! id 3 and a pod CIDR inside onprem's), each refused against the cloud it clashes
//! with and against a cloud that already imports that one.

use std::collections::BTreeSet;

use crate::{
    demo::{CLOUDS, Demo, others},
    extra_cluster::ExtraCluster,
    json::{cluster, str_of},
};

const TAG: &str = "mccr";

#[test]
fn connect_refuses_a_duplicate_cluster_id_and_overlapping_pod_cidrs() {
    let demo = Demo::up(TAG);
    demo.connect();
    let extras = [
        ExtraCluster::start(&demo, "dupid", 1, "10.9.0.0/16", 7501),
        ExtraCluster::start(&demo, "overlap", 9, "10.1.128.0/17", 7502),
        ExtraCluster::start(&demo, "clash", 3, "10.3.0.0/17", 7503),
    ];

    let refusals: [(&str, &str, &[&str]); 5] = [
        (
            "aws",
            "dupid",
            &["cluster id 1 is used by both aws and dupid"],
        ),
        (
            "gcp",
            "dupid",
            &["cluster id 1 of dupid is already used by aws, a peer of gcp"],
        ),
        (
            "aws",
            "overlap",
            &["pod CIDR 10.1.0.0/16 of aws overlaps 10.1.128.0/17 of overlap"],
        ),
        (
            "onprem",
            "overlap",
            &["pod CIDR 10.1.128.0/17 of overlap overlaps 10.1.0.0/16 of aws, a peer of onprem"],
        ),
        // Every problem is listed, one line each.
        (
            "onprem",
            "clash",
            &[
                "cluster id 3 is used by both onprem and clash",
                "pod CIDR 10.3.0.0/16 of onprem overlaps 10.3.0.0/17 of clash",
            ],
        ),
    ];
    for (a, b, problems) in refusals {
        let out = demo.ctl(&[
            "connect",
            "--context",
            a,
            "--destination-context",
            b,
            "--wait",
        ]);
        assert_eq!(
            out.code,
            Some(1),
            "ctl connect {a} {b} must be refused:\n{out}"
        );
        let mut expected = format!("error: refusing to connect {a} and {b}:");
        for p in problems {
            expected.push_str(&format!("\n  - {p}"));
        }
        let error = out
            .stderr
            .find("error: ")
            .map(|i| out.stderr[i..].trim_end())
            .unwrap_or_default();
        assert_eq!(error, expected, "ctl connect {a} {b}:\n{out}");
        assert_eq!(
            out.stdout.trim(),
            "",
            "nothing on stdout for a refusal:\n{out}"
        );
    }

    // Nothing changed: each cloud still imports exactly the other two, and the extra
    // clusters import nothing.
    let (out, status) = demo.ctl_json(&["status"]);
    for context in CLOUDS
        .iter()
        .copied()
        .chain(extras.iter().map(|e| e.name.as_str()))
    {
        let peers: BTreeSet<String> = cluster(&status, context)["peers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| str_of(&p["name"]))
            .collect();
        let expected: BTreeSet<String> = match CLOUDS.contains(&context) {
            true => others(context).into_iter().map(str::to_owned).collect(),
            false => BTreeSet::new(),
        };
        assert_eq!(
            peers, expected,
            "the peers of {context} after the refusals:\n{out}"
        );
    }

    drop(extras);
    demo.down();
}
