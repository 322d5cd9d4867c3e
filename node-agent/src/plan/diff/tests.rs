use std::{net::SocketAddr, time::Duration};

use clustermesh_proto::Protocol;

use super::*;
use crate::{
    fixtures::{key, name},
    plan::{BackendTarget, PeerSpec, ServiceBackends, ServiceFrontend},
    view::ServiceName,
};

fn spec(node: &str, cidr: &str) -> PeerSpec {
    PeerSpec {
        endpoint: Some(SocketAddr::from(([192, 0, 2, 1], 51820))),
        allowed_ips: vec![cidr.parse().expect("cidr")],
        keepalive: None,
        cluster: name("b"),
        node: node.into(),
    }
}

fn frontend(port: u16) -> ServiceFrontend {
    ServiceFrontend {
        vip: [10, 96, 0, 10].into(),
        port,
        protocol: Protocol::Tcp,
    }
}

fn backends(ips: &[[u8; 4]]) -> ServiceBackends {
    ServiceBackends {
        name: ServiceName::parse("shop/web").expect("name"),
        backends: ips
            .iter()
            .map(|ip| BackendTarget {
                ip: (*ip).into(),
                port: 8080,
                cluster: name("b"),
                node: Some("b1".into()),
            })
            .collect(),
    }
}

fn rich() -> DesiredState {
    DesiredState {
        peers: [
            (key(1), spec("b1", "10.2.1.0/24")),
            (key(2), spec("b2", "10.2.2.0/24")),
        ]
        .into(),
        routes: ["10.2.0.0/16".parse().expect("cidr")].into(),
        services: [
            (frontend(80), backends(&[[10, 2, 1, 5]])),
            (frontend(81), backends(&[])),
        ]
        .into(),
    }
}

#[test]
fn equal_states_need_no_change() {
    assert_eq!(plan(&rich(), &rich()), []);
    assert_eq!(plan(&DesiredState::default(), &DesiredState::default()), []);
}

#[test]
fn everything_from_scratch_and_everything_away() {
    assert_eq!(
        plan(&rich(), &ObservedState::default()),
        [
            Change::AddPeer(key(1), spec("b1", "10.2.1.0/24")),
            Change::AddPeer(key(2), spec("b2", "10.2.2.0/24")),
            Change::AddRoute("10.2.0.0/16".parse().expect("cidr")),
            Change::SetService(frontend(80), backends(&[[10, 2, 1, 5]])),
            Change::SetService(frontend(81), backends(&[])),
        ]
    );
    assert_eq!(
        plan(&DesiredState::default(), &rich()),
        [
            Change::RemoveRoute("10.2.0.0/16".parse().expect("cidr")),
            Change::RemovePeer(key(1)),
            Change::RemovePeer(key(2)),
            Change::RemoveService(frontend(80)),
            Change::RemoveService(frontend(81)),
            Change::ForgetFlows(frontend(80), vec![target([10, 2, 1, 5])]),
        ]
    );
}

fn target(ip: [u8; 4]) -> SocketAddr {
    SocketAddr::from((ip, 8080))
}

#[test]
fn only_the_backends_a_frontend_lost_have_their_flows_forgotten_after_the_rules() {
    let mut observed = rich();
    observed
        .services
        .insert(frontend(80), backends(&[[10, 2, 1, 5], [10, 2, 1, 6]]));
    let mut desired = rich();
    desired
        .services
        .insert(frontend(80), backends(&[[10, 2, 1, 6], [10, 2, 1, 7]]));
    assert_eq!(
        plan(&desired, &observed),
        [
            Change::SetService(frontend(80), backends(&[[10, 2, 1, 6], [10, 2, 1, 7]])),
            Change::ForgetFlows(frontend(80), vec![target([10, 2, 1, 5])]),
        ]
    );
    // Gaining a backend orphans no flow.
    assert_eq!(
        plan(&observed, &rich()),
        [Change::SetService(
            frontend(80),
            backends(&[[10, 2, 1, 5], [10, 2, 1, 6]])
        )]
    );
}

#[test]
fn every_kind_of_change_in_order() {
    let observed = rich();
    let mut desired = rich();
    desired.peers.remove(&key(1));
    desired.peers.insert(key(3), spec("b3", "10.4.3.0/24"));
    if let Some(p) = desired.peers.get_mut(&key(2)) {
        p.keepalive = Some(Duration::from_secs(25));
    }
    desired.routes = ["10.4.0.0/16".parse().expect("cidr")].into();
    desired.services.remove(&frontend(81));
    desired
        .services
        .insert(frontend(80), backends(&[[10, 2, 1, 6]]));
    desired.services.insert(frontend(82), backends(&[]));

    let mut updated = spec("b2", "10.2.2.0/24");
    updated.keepalive = Some(Duration::from_secs(25));
    assert_eq!(
        plan(&desired, &observed),
        [
            Change::UpdatePeer(key(2), updated),
            Change::AddPeer(key(3), spec("b3", "10.4.3.0/24")),
            Change::AddRoute("10.4.0.0/16".parse().expect("cidr")),
            Change::RemoveRoute("10.2.0.0/16".parse().expect("cidr")),
            Change::RemovePeer(key(1)),
            Change::SetService(frontend(80), backends(&[[10, 2, 1, 6]])),
            Change::SetService(frontend(82), backends(&[])),
            Change::RemoveService(frontend(81)),
            Change::ForgetFlows(frontend(80), vec![target([10, 2, 1, 5])]),
        ]
    );
}

#[test]
fn metadata_and_order_the_devices_cannot_hold_are_not_compared() {
    let mut observed = rich();
    for p in observed.peers.values_mut() {
        p.cluster = name("unknown");
        p.node = String::new();
        p.allowed_ips.reverse();
    }
    let mut two = backends(&[[10, 2, 1, 6], [10, 2, 1, 5]]);
    for b in &mut two.backends {
        b.cluster = name("unknown");
        b.node = None;
    }
    two.name = ServiceName::parse("other/name").expect("name");
    observed.services.insert(frontend(80), two);
    let mut desired = rich();
    desired
        .services
        .insert(frontend(80), backends(&[[10, 2, 1, 5], [10, 2, 1, 6]]));
    assert_eq!(plan(&desired, &observed), []);
}

#[test]
fn a_peer_without_an_endpoint_accepts_the_one_the_device_learned() {
    let mut desired = DesiredState::default();
    let mut wanted = spec("b1", "10.2.0.0/24");
    wanted.endpoint = None;
    desired
        .peers
        .insert(crate::fixtures::key(2), wanted.clone());
    let mut observed = desired.clone();
    let learned = observed
        .peers
        .get_mut(&crate::fixtures::key(2))
        .expect("peer");
    learned.endpoint = Some("192.0.2.2:51820".parse().expect("addr"));
    assert!(plan(&desired, &observed).is_empty());

    // The other way round is a change: an endpoint we know must be programmed.
    assert_eq!(
        plan(&observed, &desired),
        [Change::UpdatePeer(
            crate::fixtures::key(2),
            observed.peers[&crate::fixtures::key(2)].clone()
        )]
    );
}
