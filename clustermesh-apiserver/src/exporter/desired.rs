//! The exporter's pure core: everything this cluster should have in the store under
//! its prefix, as `key → encoded value`, from the export plan and agents' registrations.

use std::collections::BTreeMap;

use bytes::Bytes;
use clustermesh_proto::{Cidr, Cluster, Node, Record, WireGuardPeerInfo, record_key};

use crate::export::ExportPlan;
use crate::layout;

/// The desired store content under this cluster's prefix, records only.
pub type Desired = BTreeMap<String, Bytes>;

/// `base` is this cluster's identity; its pod CIDRs, when none were declared, are the
/// nodes' pod CIDRs, so `ctl connect` can refuse overlapping clusters either way.
pub fn build(
    base: &Cluster,
    plan: &ExportPlan,
    registrations: &BTreeMap<String, WireGuardPeerInfo>,
) -> (Cluster, Desired) {
    let cluster = effective_cluster(base, &plan.nodes);
    let mut desired = Desired::new();
    let mut add = |record: Record| {
        desired.insert(record_key(&record), layout::encode_record(&record));
    };
    add(Record::Cluster(cluster.clone()));
    for node in &plan.nodes {
        add(Record::Node(with_registration(node, registrations)));
    }
    plan.identities.iter().cloned().for_each(|r| add(r.into()));
    plan.endpoints.iter().cloned().for_each(|r| add(r.into()));
    plan.services.iter().cloned().for_each(|r| add(r.into()));
    (cluster, desired)
}

fn with_registration(node: &Node, registrations: &BTreeMap<String, WireGuardPeerInfo>) -> Node {
    let mut node = node.clone();
    // A node whose agent holds no lease is exported without WireGuard details: peers
    // then know it is lost and stop sending to it.
    node.wireguard = registrations.get(node.name.as_str()).cloned();
    node
}

fn effective_cluster(base: &Cluster, nodes: &[Node]) -> Cluster {
    if !base.pod_cidrs.is_empty() {
        return base.clone();
    }
    let mut cidrs: Vec<Cidr> = nodes.iter().flat_map(|n| n.pod_cidrs.clone()).collect();
    cidrs.sort();
    cidrs.dedup();
    // The record requires disjoint ranges; nodes were checked against each other
    // already, so this only drops the rare duplicate-ish leftovers.
    let mut disjoint: Vec<Cidr> = Vec::with_capacity(cidrs.len());
    for cidr in cidrs {
        if !disjoint.iter().any(|kept| kept.overlaps(&cidr)) {
            disjoint.push(cidr);
        }
    }
    Cluster {
        pod_cidrs: disjoint,
        ..base.clone()
    }
}
