//! Nodes: name, underlay addresses, pod CIDRs and zone. The WireGuard key and port are
//! not in the Kubernetes objects; the node's agent registers them, so they are `None`
//! here.
//!
//! **Bad pod CIDRs.** A CIDR that does not parse, or that overlaps one exported before it
//! (on this node or on a node earlier in name order), is left out with a warning and the
//! node is exported with the rest. Skipping the whole node would cut every pod on it off
//! from the mesh; keeping the bad entry would have peers refuse the record, or route a
//! range to two nodes. Only a node whose name itself is invalid is skipped.

use std::net::IpAddr;

use clustermesh_proto::{Cidr, ClusterName, Node, first_overlap, pb};
use k8s_openapi::api::core::v1::Node as K8sNode;

use super::{ObjectKind, Warning};
use crate::source::ClusterObjects;

pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Underlay address types in order of preference: peers try the first one first, and
/// an internal address avoids NAT where the clouds are peered.
const ADDRESS_TYPES: [&str; 2] = ["InternalIP", "ExternalIP"];

/// All nodes, sorted by name.
pub fn export(
    cluster: &ClusterName,
    objects: &ClusterObjects,
    warnings: &mut Vec<Warning>,
) -> Vec<Node> {
    let mut taken: Vec<Cidr> = Vec::new();
    let mut out = Vec::new();
    for (name, node) in &objects.nodes {
        let mut note =
            |message: String| warnings.push(Warning::new(ObjectKind::Node, name, message));
        let pod_cidrs = pod_cidrs(node, &taken, &mut note);
        let msg = pb::Node {
            cluster: cluster.to_string(),
            name: name.clone(),
            underlay_addresses: addresses(node, &mut note),
            pod_cidrs: pod_cidrs.iter().map(ToString::to_string).collect(),
            zone: zone(node, &mut note),
            wireguard: None,
        };
        match Node::try_from(msg) {
            Ok(node) => {
                taken.extend(pod_cidrs);
                out.push(node);
            }
            Err(e) => note(format!("not exported: {e}")),
        }
    }
    out
}

fn addresses(node: &K8sNode, note: &mut impl FnMut(String)) -> Vec<String> {
    let all = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default();
    let mut out: Vec<IpAddr> = Vec::new();
    for kind in ADDRESS_TYPES {
        for a in all.iter().filter(|a| a.type_ == kind) {
            match a.address.parse::<IpAddr>() {
                Ok(ip) if !out.contains(&ip) => out.push(ip),
                Ok(_) => {}
                Err(_) => note(format!("{kind} {:?} ignored: not an IP address", a.address)),
            }
        }
    }
    out.iter().map(ToString::to_string).collect()
}

/// `spec.podCIDRs`, or the older single `spec.podCIDR` when the list is empty.
fn pod_cidrs(node: &K8sNode, taken: &[Cidr], note: &mut impl FnMut(String)) -> Vec<Cidr> {
    let spec = node.spec.as_ref();
    let listed = spec.and_then(|s| s.pod_cidrs.clone()).unwrap_or_default();
    let raw = match listed.is_empty() {
        true => spec.and_then(|s| s.pod_cidr.clone()).into_iter().collect(),
        false => listed,
    };
    let mut out: Vec<Cidr> = Vec::new();
    for value in raw {
        let cidr = match value.parse::<Cidr>() {
            Ok(cidr) => cidr,
            Err(e) => {
                note(format!("pod CIDR ignored: {e}"));
                continue;
            }
        };
        let one = [cidr];
        let clash = first_overlap(&one, &out).or_else(|| first_overlap(&one, taken));
        match clash {
            Some((_, other)) => note(format!("pod CIDR {cidr} ignored: overlaps {other}")),
            None => out.push(cidr),
        }
    }
    out
}

/// An invalid zone is dropped rather than failing the node: the zone is only a hint.
fn zone(node: &K8sNode, note: &mut impl FnMut(String)) -> String {
    let zone = node
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(ZONE_LABEL))
        .cloned()
        .unwrap_or_default();
    match clustermesh_proto::validate_label_value(ZONE_LABEL, &zone) {
        Ok(()) => zone,
        Err(e) => {
            note(format!("zone ignored: {e}"));
            String::new()
        }
    }
}

#[cfg(test)]
mod tests;
