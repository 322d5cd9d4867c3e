//! Backend selection for one frontend: the rule is
//! [`clustermesh_proto::selection`], shared with `ctl services` so that what ctl shows
//! as selected is what the agent programs. Here: the view's facts in its terms.

use clustermesh_proto::{
    ClusterName, ServicePort,
    selection::{ClusterCopy, Decision, Lease, decide},
};

use super::{BackendTarget, LocalNode};
use crate::view::{ByCluster, MergedView};

/// The sorted backends of one frontend of `by_cluster` (one service in every cluster);
/// empty when none qualifies, which executors turn into a reject.
pub(super) fn backends(
    view: &MergedView,
    me: &LocalNode,
    by_cluster: &ByCluster,
    port: &ServicePort,
) -> Vec<BackendTarget> {
    // Without our own copy there is no frontend here.
    let Some(own) = by_cluster.get(&me.cluster) else {
        return Vec::new();
    };
    let clusters: Vec<&ClusterName> = by_cluster.keys().collect();
    let copies: Vec<ClusterCopy<'_>> = by_cluster
        .iter()
        .map(|(cluster, service)| ClusterCopy {
            cluster: cluster.as_str(),
            local: *cluster == me.cluster,
            shared: service.shared,
            reachable: view.is_reachable(cluster),
            backends: &service.backends,
        })
        .collect();
    // A node's lease is alive while its record carries WireGuard details: an expired
    // lease is exported without them.
    let lease = |cluster: &str, node: &clustermesh_proto::DnsSubdomain| {
        let alive = clusters
            .iter()
            .find(|c| c.as_str() == cluster)
            .and_then(|c| view.node(c, node.as_str()))
            .is_some_and(|n| n.wireguard.is_some());
        if alive { Lease::Alive } else { Lease::Expired }
    };
    let decisions = decide(own.affinity, &copies, port, &lease);
    let mut out: Vec<BackendTarget> = copies
        .iter()
        .zip(&clusters)
        .zip(&decisions)
        .flat_map(|((copy, cluster), row)| {
            copy.backends
                .iter()
                .zip(row)
                .filter_map(|(backend, d)| match d {
                    Decision::Selected(port) => Some(BackendTarget {
                        ip: backend.ip,
                        port: *port,
                        cluster: (*cluster).clone(),
                        node: backend.node.as_ref().map(ToString::to_string),
                    }),
                    _ => None,
                })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
