//! Whether two clusters may be connected, checked before anything changes. The
//! messages name each side by its context and are documented in docs/cli.md, so keep
//! them stable.

use clustermesh_proto::{Cluster, HostPort};

/// One side as `connect` found it.
#[derive(Debug, Clone)]
pub struct Side<'a> {
    pub context: &'a str,
    /// The cluster the context says it reaches.
    pub expected_cluster: &'a str,
    /// The cluster its apiserver serves (GetClusterInfo).
    pub cluster: &'a Cluster,
    /// The peers it imports already (ListPeers).
    pub peers: &'a [Cluster],
}

/// Every reason the pair cannot be connected; empty when it can.
pub fn problems(a: &Side<'_>, b: &Side<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for side in [a, b] {
        if side.cluster.name.as_str() != side.expected_cluster {
            out.push(format!(
                "context {} names cluster {} but its apiserver serves cluster {}",
                side.context, side.expected_cluster, side.cluster.name
            ));
        }
    }
    let (ca, cb) = (a.cluster, b.cluster);
    if ca.name == cb.name {
        out.push(format!(
            "cluster name {} is used by both {} and {}",
            ca.name, a.context, b.context
        ));
    }
    if ca.id == cb.id {
        out.push(format!(
            "cluster id {} is used by both {} and {}",
            ca.id, a.context, b.context
        ));
    }
    for x in &ca.pod_cidrs {
        for y in cb.pod_cidrs.iter().filter(|y| x.overlaps(y)) {
            out.push(format!(
                "pod CIDR {x} of {} overlaps {y} of {}",
                a.context, b.context
            ));
        }
    }
    out.extend(mesh_problems(a, b));
    out.extend(mesh_problems(b, a));
    out
}

/// `newcomer` against the peers `host` imports already: ids and pod CIDRs must be
/// unique in the whole mesh, not only in the pair.
fn mesh_problems(host: &Side<'_>, newcomer: &Side<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let new = newcomer.cluster;
    let others = host.peers.iter().filter(|p| p.name != new.name);
    for peer in others {
        if peer.id == new.id {
            out.push(format!(
                "cluster id {} of {} is already used by {}, a peer of {}",
                new.id, newcomer.context, peer.name, host.context
            ));
        }
        for x in &new.pod_cidrs {
            for y in peer.pod_cidrs.iter().filter(|y| x.overlaps(y)) {
                out.push(format!(
                    "pod CIDR {x} of {} overlaps {y} of {}, a peer of {}",
                    newcomer.context, peer.name, host.context
                ));
            }
        }
    }
    out
}

/// Whether `importer` already imports `exporter` at its current address.
pub fn imports(importer_peers: &[Cluster], exporter: &Cluster) -> bool {
    let same_address = |a: &HostPort| *a == exporter.advertise_address;
    importer_peers
        .iter()
        .any(|p| p.name == exporter.name && same_address(&p.advertise_address))
}
