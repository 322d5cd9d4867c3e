//! WireGuard peers and routes.

use std::time::Duration;

use super::*;

#[test]
fn remote_registered_nodes_become_peers_and_their_clusters_routes() {
    let changes = plan(&desired(world()), &ObservedState::default());
    assert_eq!(
        changes,
        [
            Change::AddPeer(key(11), peer("b", "b1", 11, &["10.2.1.0/24"])),
            Change::AddPeer(key(12), peer("b", "b2", 12, &["10.2.2.0/24"])),
            Change::AddPeer(key(21), peer("c", "c1", 21, &["10.3.1.0/24"])),
            Change::AddRoute(cidr("10.2.0.0/16")),
            Change::AddRoute(cidr("10.3.0.0/16")),
        ]
    );
}

#[test]
fn our_own_clusters_nodes_are_never_peers_nor_routed() {
    let ours = without(world(), |r| match r {
        pb::record::Record::Node(n) => n.cluster != "a",
        pb::record::Record::Cluster(c) => c.name != "a",
        _ => false,
    });
    let state = desired(ours);
    assert_eq!(state, DesiredState::default());
}

#[test]
fn nodes_added_and_removed() {
    let mut more = world();
    more.push(node("b", "b3", 13, &["10.2.3.0/24"]).into_record());
    assert_eq!(
        transition(world(), more.clone()),
        [Change::AddPeer(
            key(13),
            peer("b", "b3", 13, &["10.2.3.0/24"])
        )],
        "covered by 10.2.0.0/16: no new route"
    );
    assert_eq!(transition(more, world()), [Change::RemovePeer(key(13))]);
}

#[test]
fn a_rotated_key_adds_the_new_peer_before_removing_the_old() {
    let rotated = with_node(world(), "b1", |n| {
        if let Some(wg) = &mut n.wireguard {
            wg.public_key = vec![15; 32];
        }
    });
    // Same node, same underlay: only the key differs.
    let spec = peer("b", "b1", 11, &["10.2.1.0/24"]);
    assert_eq!(
        transition(world(), rotated),
        [Change::AddPeer(key(15), spec), Change::RemovePeer(key(11))]
    );
}

#[test]
fn endpoint_changes_update_the_peer() {
    let explicit = with_node(world(), "b1", |n| {
        if let Some(wg) = &mut n.wireguard {
            wg.endpoint = "198.51.100.7:51999".into();
        }
    });
    let mut spec = peer("b", "b1", 11, &["10.2.1.0/24"]);
    spec.endpoint = Some("198.51.100.7:51999".parse().expect("addr"));
    assert_eq!(
        transition(world(), explicit),
        [Change::UpdatePeer(key(11), spec)]
    );

    let moved = with_node(world(), "b2", |n| {
        n.underlay_addresses = vec!["2001:db8::12".into()]
    });
    let mut spec = peer("b", "b2", 12, &["10.2.2.0/24"]);
    spec.endpoint = Some("[2001:db8::12]:51820".parse().expect("addr"));
    assert_eq!(
        transition(world(), moved),
        [Change::UpdatePeer(key(12), spec)]
    );

    // A node that no longer says where it is keeps the endpoint the device has: the
    // device cannot forget one, and the node's handshakes keep it current.
    let nowhere = with_node(world(), "b2", |n| n.underlay_addresses.clear());
    assert_eq!(transition(world(), nowhere), []);
}

#[test]
fn pod_cidr_changes_update_allowed_ips_and_routes() {
    let grown = with_node(world(), "b1", |n| n.pod_cidrs.push("10.20.0.0/24".into()));
    let spec = |cidrs: &[&str]| peer("b", "b1", 11, cidrs);
    assert_eq!(
        transition(world(), grown.clone()),
        [
            Change::UpdatePeer(key(11), spec(&["10.2.1.0/24", "10.20.0.0/24"])),
            Change::AddRoute(cidr("10.20.0.0/24")),
        ]
    );
    assert_eq!(
        transition(grown, world()),
        [
            Change::UpdatePeer(key(11), spec(&["10.2.1.0/24"])),
            Change::RemoveRoute(cidr("10.20.0.0/24")),
        ]
    );
}

#[test]
fn cluster_cidr_changes_move_routes() {
    let mut after = without(
        world(),
        |r| matches!(r, pb::record::Record::Cluster(c) if c.name != "a"),
    );
    after.push(cluster("b", 2, &["10.2.0.0/16", "10.5.0.0/16"]).into_record());
    // b gains 10.5.0.0/16; c's record is gone, so its node's own CIDR is routed.
    assert_eq!(
        transition(world(), after),
        [
            Change::AddRoute(cidr("10.3.1.0/24")),
            Change::AddRoute(cidr("10.5.0.0/16")),
            Change::RemoveRoute(cidr("10.3.0.0/16")),
        ]
    );
}

#[test]
fn a_node_losing_its_lease_stops_being_a_peer_but_keeps_its_route() {
    // Without b's cluster record, b's routes are its nodes' CIDRs.
    let before = without(
        world(),
        |r| matches!(r, pb::record::Record::Cluster(c) if c.name == "b"),
    );
    let after = with_node(before.clone(), "b1", |n| *n = lease_expired(n.clone()));
    assert_eq!(
        transition(before, after.clone()),
        [Change::RemovePeer(key(11))]
    );
    let routes = desired(after).routes;
    assert!(routes.contains(&cidr("10.2.1.0/24")), "{routes:?}");
}

#[test]
fn an_unreachable_peer_keeps_its_tunnels_and_routes() {
    let reachable = desired(world());
    let mut view = view_of(world());
    view.apply(peer_state("b", false)).expect("peer state");
    view.apply(peer_state("c", false)).expect("peer state");
    assert_eq!(plan(&desired_of(&view), &reachable), []);
}

#[test]
fn keepalive_comes_from_the_config() {
    let view = view_of(world());
    let config = PlanConfig {
        keepalive: Some(Duration::from_secs(25)),
    };
    let with = compute(&view, &me(), &config);
    assert!(
        with.peers
            .values()
            .all(|p| p.keepalive == Some(Duration::from_secs(25)))
    );
    let changes = plan(&with, &desired_of(&view));
    let updated: Vec<_> = changes
        .iter()
        .map(|c| match c {
            Change::UpdatePeer(key, _) => *key,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(updated, [key(11), key(12), key(21)]);
}

#[test]
fn duplicate_and_own_keys_are_skipped() {
    let clash = with_node(world(), "b2", |n| {
        if let Some(wg) = &mut n.wireguard {
            wg.public_key = vec![11; 32];
        }
    });
    let clash = with_node(clash, "c1", |n| {
        if let Some(wg) = &mut n.wireguard {
            wg.public_key = vec![1; 32];
        }
    });
    let peers = desired(clash).peers;
    assert_eq!(peers.keys().copied().collect::<Vec<_>>(), [key(11)]);
    assert_eq!(peers.get(&key(11)).map(|p| p.node.as_str()), Some("b1"));
}

#[test]
fn equal_inputs_give_equal_outputs() {
    let mut shuffled = world();
    shuffled.reverse();
    assert_eq!(desired(world()), desired(shuffled));
}
