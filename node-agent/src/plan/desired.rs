//! The dataplane this node should have, from the merged view.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
};

use clustermesh_proto::{Cidr, Node, WireGuardKey};
use tracing::warn;

use super::{
    DesiredState, LocalNode, PeerSpec, PlanConfig, ServiceBackends, ServiceFrontend, select,
};
use crate::view::MergedView;

/// Computes the desired dataplane. Deterministic: equal inputs give equal outputs.
pub fn compute(view: &MergedView, me: &LocalNode, config: &PlanConfig) -> DesiredState {
    DesiredState {
        peers: peers(view, me, config),
        routes: routes(view, me),
        services: services(view, me),
    }
}

fn peers(
    view: &MergedView,
    me: &LocalNode,
    config: &PlanConfig,
) -> BTreeMap<WireGuardKey, PeerSpec> {
    // A remote node announcing our own key would make the device peer with itself.
    let own_key = view
        .node(&me.cluster, &me.node)
        .and_then(|n| n.wireguard.as_ref())
        .map(|wg| wg.public_key);
    let mut peers: BTreeMap<WireGuardKey, PeerSpec> = BTreeMap::new();
    let remote = view
        .nodes_by_cluster()
        .filter(|(cluster, _)| **cluster != me.cluster);
    for node in remote.flat_map(|(_, nodes)| nodes) {
        // No WireGuard details: the node's agent never registered or its lease expired.
        let Some(wg) = &node.wireguard else { continue };
        if Some(wg.public_key) == own_key {
            warn!(cluster = %node.cluster, node = %node.name, "remote node uses our WireGuard key, skipped");
            continue;
        }
        if let Some(first) = peers.get(&wg.public_key) {
            // One key can be one peer only; the first in (cluster, node) order wins, so
            // the choice is stable.
            warn!(cluster = %node.cluster, node = %node.name, other_cluster = %first.cluster,
                other_node = %first.node, "WireGuard key used by two nodes, second skipped");
            continue;
        }
        let mut allowed_ips = node.pod_cidrs.clone();
        allowed_ips.sort();
        let spec = PeerSpec {
            endpoint: endpoint(node),
            allowed_ips,
            keepalive: config.keepalive,
            cluster: node.cluster.clone(),
            node: node.name.to_string(),
        };
        peers.insert(wg.public_key, spec);
    }
    peers
}

/// `WireGuard.endpoint`, or by its contract the first underlay address and listen port.
fn endpoint(node: &Node) -> Option<SocketAddr> {
    let wg = node.wireguard.as_ref()?;
    wg.endpoint.or_else(|| {
        let ip = node.underlay_addresses.first()?;
        Some(SocketAddr::new(*ip, wg.listen_port.get()))
    })
}

/// Each remote cluster's pod CIDRs: its Cluster record's, plus those of its nodes that
/// the record does not cover (a covered one would only add a redundant route per node).
/// Nodes count whether or not their lease is alive: dropping the route of a lost node
/// would send its pods' traffic out of the default route, unencrypted.
fn routes(view: &MergedView, me: &LocalNode) -> BTreeSet<Cidr> {
    let mut routes = BTreeSet::new();
    for cluster in view.clusters().filter(|c| c.name != me.cluster) {
        routes.extend(cluster.pod_cidrs.iter().copied());
    }
    for (cluster, nodes) in view.nodes_by_cluster() {
        if *cluster == me.cluster {
            continue;
        }
        let covering: &[Cidr] = view.cluster(cluster).map_or(&[], |c| &c.pod_cidrs);
        for cidr in nodes.flat_map(|n| &n.pod_cidrs) {
            if !covering.iter().any(|c| c.net().contains(&cidr.net())) {
                routes.insert(*cidr);
            }
        }
    }
    routes
}

/// One frontend per port of every global service that has a VIP in our cluster. A
/// service other clusters export but we do not define has no VIP here, so there is
/// nothing to program.
fn services(view: &MergedView, me: &LocalNode) -> BTreeMap<ServiceFrontend, ServiceBackends> {
    let mut out = BTreeMap::new();
    for (name, by_cluster) in view.services() {
        let Some(local) = by_cluster.get(&me.cluster) else {
            continue;
        };
        // Headless: clients resolve pod IPs themselves, there is no VIP to balance.
        let Some(vip) = local.vip else { continue };
        for port in &local.ports {
            let frontend = ServiceFrontend {
                vip,
                port: port.port.get(),
                protocol: port.protocol,
            };
            if out.contains_key(&frontend) {
                // Two services on one VIP:port is broken input; the first (by name) keeps it.
                warn!(service = %name, vip = %vip, port = frontend.port, "frontend claimed twice, skipped");
                continue;
            }
            let backends = select::backends(view, me, by_cluster, port);
            out.insert(
                frontend,
                ServiceBackends {
                    name: name.clone(),
                    backends,
                },
            );
        }
    }
    out
}
