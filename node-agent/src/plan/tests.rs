//! Planner tests: hand-built views in, the exact list of changes out.

mod affinity;
mod peers;
mod services;

use std::net::SocketAddr;

use clustermesh_proto::{Cidr, Protocol, pb};

use super::{desired::compute, diff::plan, *};
use crate::{
    fixtures::*,
    view::{MergedView, ServiceName},
};

fn me() -> LocalNode {
    LocalNode {
        cluster: name("a"),
        node: "a1".into(),
    }
}

fn desired_of(view: &MergedView) -> DesiredState {
    compute(view, &me(), &PlanConfig::default())
}

fn desired(records: Vec<pb::Record>) -> DesiredState {
    desired_of(&view_of(records))
}

/// The changes of rules and devices that take a node programmed for `before` to
/// `after`; the flows lost backends leave behind are asserted where they are the point
/// (`forget_flows`, `diff::tests`).
fn transition(before: Vec<pb::Record>, after: Vec<pb::Record>) -> Vec<Change> {
    split(before, after).0
}

/// Only the flows forgotten between two worlds.
fn forget_flows(before: Vec<pb::Record>, after: Vec<pb::Record>) -> Vec<Change> {
    split(before, after).1
}

fn split(before: Vec<pb::Record>, after: Vec<pb::Record>) -> (Vec<Change>, Vec<Change>) {
    plan(&desired(after), &desired(before))
        .into_iter()
        .partition(|c| !matches!(c, Change::ForgetFlows(..)))
}

fn cidr(s: &str) -> Cidr {
    s.parse().expect("valid CIDR")
}

/// The peer the fixture node `node(cluster, name, key, cidrs)` becomes.
fn peer(cluster: &str, node: &str, key: u8, cidrs: &[&str]) -> PeerSpec {
    PeerSpec {
        endpoint: Some(SocketAddr::from(([192, 0, 2, key], 51820))),
        allowed_ips: cidrs.iter().map(|c| cidr(c)).collect(),
        keepalive: None,
        cluster: name(cluster),
        node: node.into(),
    }
}

/// Three clusters; we are `a/a1`. Cluster records cover their nodes' CIDRs.
fn world() -> Vec<pb::Record> {
    vec![
        cluster("a", 1, &["10.1.0.0/16"]).into_record(),
        cluster("b", 2, &["10.2.0.0/16"]).into_record(),
        cluster("c", 3, &["10.3.0.0/16"]).into_record(),
        node("a", "a1", 1, &["10.1.1.0/24"]).into_record(),
        node("a", "a2", 2, &["10.1.2.0/24"]).into_record(),
        node("b", "b1", 11, &["10.2.1.0/24"]).into_record(),
        node("b", "b2", 12, &["10.2.2.0/24"]).into_record(),
        node("c", "c1", 21, &["10.3.1.0/24"]).into_record(),
    ]
}

/// `world` with its node named `node` replaced by `f(node)`.
fn with_node(
    mut records: Vec<pb::Record>,
    node: &str,
    f: impl FnOnce(&mut pb::Node),
) -> Vec<pb::Record> {
    for record in &mut records {
        if let Some(pb::record::Record::Node(n)) = &mut record.record
            && n.name == node
        {
            f(n);
            return records;
        }
    }
    panic!("no node {node} in the fixture");
}

fn without(
    mut records: Vec<pb::Record>,
    drop: impl Fn(&pb::record::Record) -> bool,
) -> Vec<pb::Record> {
    records.retain(|r| !r.record.as_ref().is_some_and(&drop));
    records
}

fn web() -> ServiceName {
    ServiceName::parse("shop/web").expect("valid name")
}

fn frontend(vip: &str, port: u16) -> ServiceFrontend {
    ServiceFrontend {
        vip: vip.parse().expect("valid VIP"),
        port,
        protocol: Protocol::Tcp,
    }
}

fn target(ip: &str, port: u16, cluster: &str, node: &str) -> BackendTarget {
    BackendTarget {
        ip: ip.parse().expect("valid IP"),
        port,
        cluster: name(cluster),
        node: Some(node.into()),
    }
}

fn set_web(backends: Vec<BackendTarget>) -> Change {
    Change::SetService(
        frontend(VIP, 80),
        ServiceBackends {
            name: web(),
            backends,
        },
    )
}

/// Our cluster's VIP for `shop/web`.
const VIP: &str = "10.96.0.10";

/// `shop/web` in all three clusters: one backend on a1, two in b, one in c.
fn web_everywhere() -> Vec<pb::GlobalService> {
    let mut a = service("a", VIP);
    a.backends = vec![backend("10.1.1.5", "a1")];
    let mut b = service("b", "10.97.0.10");
    b.backends = vec![backend("10.2.1.5", "b1"), backend("10.2.2.5", "b2")];
    let mut c = service("c", "10.98.0.10");
    c.backends = vec![backend("10.3.1.5", "c1")];
    vec![a, b, c]
}

fn world_with(services: Vec<pb::GlobalService>) -> Vec<pb::Record> {
    let mut records = world();
    records.extend(services.into_iter().map(IntoRecord::into_record));
    records
}

fn all_web_targets() -> Vec<BackendTarget> {
    vec![
        target("10.1.1.5", 8080, "a", "a1"),
        target("10.2.1.5", 8080, "b", "b1"),
        target("10.2.2.5", 8080, "b", "b2"),
        target("10.3.1.5", 8080, "c", "c1"),
    ]
}
