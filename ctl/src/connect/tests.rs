use clustermesh_proto::{Cluster, pb};

use super::{
    validate::{Side, imports, problems},
    *,
};
use crate::status::PeerReport;

fn cluster(name: &str, id: u32, cidrs: &[&str], port: u16) -> Cluster {
    Cluster::try_from(pb::Cluster {
        name: name.into(),
        id,
        pod_cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        advertise_address: format!("127.0.0.1:{port}"),
    })
    .expect("valid cluster")
}

fn side<'a>(context: &'a str, cluster: &'a Cluster, peers: &'a [Cluster]) -> Side<'a> {
    Side {
        context,
        expected_cluster: cluster.name.as_str(),
        cluster,
        peers,
    }
}

#[test]
fn a_sound_pair_has_no_problems() {
    let a = cluster("a", 1, &["10.1.0.0/16"], 1);
    let b = cluster("b", 2, &["10.2.0.0/16"], 2);
    assert!(problems(&side("a", &a, &[]), &side("b", &b, &[])).is_empty());
}

#[test]
fn duplicate_id_is_refused_naming_both_contexts() {
    let a = cluster("a", 1, &["10.1.0.0/16"], 1);
    let b = cluster("b", 1, &["10.2.0.0/16"], 2);
    assert_eq!(
        problems(&side("a", &a, &[]), &side("b", &b, &[])),
        ["cluster id 1 is used by both a and b"]
    );
}

#[test]
fn duplicate_name_is_refused() {
    let a = cluster("x", 1, &[], 1);
    let b = cluster("x", 2, &[], 2);
    let found = problems(&side("ctx-a", &a, &[]), &side("ctx-b", &b, &[]));
    assert_eq!(found, ["cluster name x is used by both ctx-a and ctx-b"]);
}

#[test]
fn every_overlapping_cidr_pair_is_named() {
    let a = cluster("a", 1, &["10.1.0.0/16", "fd00::/64"], 1);
    let b = cluster("b", 2, &["10.1.128.0/17", "10.3.0.0/16", "fd00::/48"], 2);
    assert_eq!(
        problems(&side("a", &a, &[]), &side("b", &b, &[])),
        [
            "pod CIDR 10.1.0.0/16 of a overlaps 10.1.128.0/17 of b",
            "pod CIDR fd00::/64 of a overlaps fd00::/48 of b",
        ]
    );
}

#[test]
fn the_newcomer_must_fit_the_peers_of_the_other_side() {
    let a = cluster("a", 1, &["10.1.0.0/16"], 1);
    let c = cluster("c", 3, &["10.3.0.0/16"], 3);
    let b = cluster("b", 3, &["10.3.5.0/24"], 2);
    let a_peers = [c.clone()];
    assert_eq!(
        problems(&side("a", &a, &a_peers), &side("b", &b, &[])),
        [
            "cluster id 3 of b is already used by c, a peer of a",
            "pod CIDR 10.3.5.0/24 of b overlaps 10.3.0.0/16 of c, a peer of a",
        ]
    );
    // The same peer installed again is no conflict with its old self.
    let a_peers = [b.clone()];
    assert!(problems(&side("a", &a, &a_peers), &side("b", &b, &[])).is_empty());
}

#[test]
fn a_context_reaching_another_cluster_is_named() {
    let a = cluster("a", 1, &[], 1);
    let b = cluster("b", 2, &[], 2);
    let mut side_b = side("b", &b, &[]);
    side_b.expected_cluster = "bee";
    assert_eq!(
        problems(&side("a", &a, &[]), &side_b),
        ["context b names cluster bee but its apiserver serves cluster b"]
    );
}

#[test]
fn imports_requires_the_same_name_and_address() {
    let b = cluster("b", 2, &[], 2);
    assert!(imports(std::slice::from_ref(&b), &b));
    assert!(!imports(&[cluster("b", 2, &[], 9)], &b), "moved apiserver");
    assert!(!imports(&[cluster("c", 3, &[], 2)], &b));
    assert!(!imports(&[], &b));
}

fn report(already: bool, synced_after_ms: Option<u64>) -> ConnectReport {
    let side = |name: &str, id| SideReport {
        context: name.into(),
        cluster: name.into(),
        id,
        pod_cidrs: vec![format!("10.{id}.0.0/16")],
        advertise_address: format!("127.0.0.1:{id}"),
    };
    let action = if already { "unchanged" } else { "installed" };
    ConnectReport {
        a: side("a", 1),
        b: side("b", 2),
        links: vec![
            LinkReport {
                importer: "a".into(),
                exporter: "b".into(),
                action: action.into(),
            },
            LinkReport {
                importer: "b".into(),
                exporter: "a".into(),
                action: action.into(),
            },
        ],
        already_connected: already,
        synced_after_ms,
    }
}

#[test]
fn renders_what_changed() {
    assert_eq!(
        render(&report(false, Some(1500))),
        [
            "checked a (cluster a, id 1, pod CIDRs 10.1.0.0/16, 127.0.0.1:1) and b (cluster b, id 2, pod CIDRs 10.2.0.0/16, 127.0.0.1:2): no conflicts",
            "a now imports b",
            "b now imports a",
            "connected a and b",
            "both sides report the link connected, reachable and synced (after 1.5s)",
        ]
    );
    let again = render(&report(true, None));
    assert_eq!(again[1], "a and b are already connected; nothing to do");
    assert_eq!(again.len(), 2);
}

#[test]
fn json_field_names_are_stable() {
    let value = serde_json::to_value(report(false, None)).expect("json");
    let keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["a", "already_connected", "b", "links", "synced_after_ms"]
    );
    assert_eq!(
        value["links"][0],
        serde_json::json!({"importer": "a", "exporter": "b", "action": "installed"})
    );
    let side: Vec<&str> = value["a"]
        .as_object()
        .expect("side")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        side,
        ["advertise_address", "cluster", "context", "id", "pod_cidrs"]
    );
}

#[test]
fn describes_a_link_in_a_few_words() {
    assert_eq!(wait::describe(None), "not imported yet");
    let peer = pb::PeerStatus {
        name: "b".into(),
        connected: true,
        reachable: false,
        synced_kinds: vec![pb::RecordKind::Cluster as i32],
        last_error: "dial: refused".into(),
        ..Default::default()
    };
    let report = PeerReport::from_pb(&peer, 0);
    assert_eq!(
        wait::describe(Some(&report)),
        "connected, not reachable, synced 1/5, last error: dial: refused"
    );
}
