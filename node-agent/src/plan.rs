//! The pure planner: [`desired::compute`] turns the merged view into the dataplane this
//! node should have, and [`diff::plan`] lists the [`Change`]s that take what executors
//! observe there. Neither does I/O, so tests assert on the exact list of changes.

pub mod desired;
pub mod diff;
mod select;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use clustermesh_proto::{Cidr, ClusterName, Protocol, WireGuardKey};

use crate::view::ServiceName;

/// Who we are: the planner leaves our own cluster's nodes to the CNI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalNode {
    pub cluster: ClusterName,
    pub node: String,
}

/// Knobs of the plan that do not come from the view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanConfig {
    /// WireGuard persistent keepalive for every peer; `None` disables it.
    pub keepalive: Option<Duration>,
}

/// The dataplane of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    /// One WireGuard peer per registered node (`Node.wireguard` is `Some`) of every
    /// remote cluster. Nodes of our own cluster are not peers: in-cluster traffic is the
    /// CNI's job.
    pub peers: BTreeMap<WireGuardKey, PeerSpec>,
    /// Remote clusters' pod CIDRs, routed via the WireGuard interface.
    pub routes: BTreeSet<Cidr>,
    /// One entry per (VIP, port, protocol) of every global service defined locally.
    pub services: BTreeMap<ServiceFrontend, ServiceBackends>,
}

/// What executors read back from the kernel and devices. The metadata fields
/// (`PeerSpec::cluster`/`node`, `ServiceBackends::name`, `BackendTarget::cluster`/`node`)
/// have nowhere to live in WireGuard or nftables, so [`diff::plan`] ignores them:
/// executors fill them as best they can.
pub type ObservedState = DesiredState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// The node's advertised endpoint, else its first underlay address with its listen
    /// port; `None` when it has neither (it can still reach us).
    pub endpoint: Option<SocketAddr>,
    /// That node's pod CIDRs, sorted.
    pub allowed_ips: Vec<Cidr>,
    pub keepalive: Option<Duration>,
    pub cluster: ClusterName,
    pub node: String,
}

impl PeerSpec {
    /// Whether `observed` already programs this (desired) peer. A desired peer without
    /// an endpoint accepts whatever endpoint the device learned from the peer's own
    /// handshakes: WireGuard cannot forget one, so insisting would re-plan forever.
    pub fn same_programming(&self, observed: &Self) -> bool {
        let other = observed;
        (self.endpoint.is_none() || self.endpoint == other.endpoint)
            && self.keepalive == other.keepalive
            && sorted(&self.allowed_ips) == sorted(&other.allowed_ips)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceFrontend {
    pub vip: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBackends {
    pub name: ServiceName,
    /// Sorted. Empty means the frontend rejects connections at once (not a black hole).
    pub backends: Vec<BackendTarget>,
}

impl ServiceBackends {
    /// Whether the load balancer needs reprogramming: only the (ip, port) set counts.
    pub fn same_programming(&self, other: &Self) -> bool {
        self.targets() == other.targets()
    }

    /// Where the load balancer sends connections, sorted: what it programs.
    pub fn targets(&self) -> Vec<SocketAddr> {
        sorted(
            &self
                .backends
                .iter()
                .map(|b| SocketAddr::new(b.ip, b.port))
                .collect::<Vec<_>>(),
        )
    }
}

/// Where a frontend's connections go.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BackendTarget {
    pub ip: IpAddr,
    pub port: u16,
    pub cluster: ClusterName,
    pub node: Option<String>,
}

/// One step for the executors. [`diff::plan`] orders them so that applying them in
/// turn never leaves traffic without a path it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    AddPeer(WireGuardKey, PeerSpec),
    UpdatePeer(WireGuardKey, PeerSpec),
    RemovePeer(WireGuardKey),
    AddRoute(Cidr),
    RemoveRoute(Cidr),
    SetService(ServiceFrontend, ServiceBackends),
    RemoveService(ServiceFrontend),
    /// After the rules above: the flows still translated to backends the frontend no
    /// longer has (`exec::Flows`).
    ForgetFlows(ServiceFrontend, Vec<SocketAddr>),
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut out = items.to_vec();
    out.sort();
    out
}

#[cfg(test)]
mod tests;
