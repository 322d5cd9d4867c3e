//! Backend selection for one frontend, as DESIGN.md ("Global services", "Failure
//! handling") says:
//!
//! 1. **Merge rule** (Cilium's): our own backends are always candidates (our `shared`
//!    flag only says whether *we* export them). A remote cluster's are candidates when
//!    its copy of the service exists (so it is global there) and is `shared`, and the
//!    apiserver has not marked that peer unreachable.
//! 2. **Port**: the backend port with the service port's name and protocol, as
//!    kube-proxy resolves `targetPort` through EndpointSlice ports; a backend without
//!    one is no candidate for this frontend (so affinity looks only at backends that
//!    can serve it).
//! 3. **Node lease**: the backend's node exists in its cluster with WireGuard details;
//!    an expired lease is exported without them. A backend naming no node has no lease
//!    to check and passes on its conditions alone.
//! 4. **Conditions** (kube-proxy's rule for terminating endpoints): the `ready` ones;
//!    only when no candidate at all is ready, those that are `serving` and
//!    `terminating`, so draining pods take traffic only as a last resort.
//! 5. **Affinity** (of our own copy): `local` keeps our healthy backends while any
//!    exists, else the remote ones; `remote` is the mirror; `none` keeps all.

use std::collections::BTreeMap;

use clustermesh_proto::{Affinity, Backend, ClusterName, GlobalService, ServicePort};

use super::{BackendTarget, LocalNode};
use crate::view::MergedView;

struct Candidate<'a> {
    local: bool,
    backend: &'a Backend,
    target: BackendTarget,
}

/// The sorted backends of one frontend of `by_cluster` (one service in every cluster);
/// empty when none qualifies, which executors turn into a reject.
pub(super) fn backends(
    view: &MergedView,
    me: &LocalNode,
    by_cluster: &BTreeMap<ClusterName, GlobalService>,
    port: &ServicePort,
) -> Vec<BackendTarget> {
    let Some(own) = by_cluster.get(&me.cluster) else {
        return Vec::new();
    };
    let candidates: Vec<Candidate<'_>> = by_cluster
        .iter()
        .filter(|(cluster, service)| {
            **cluster == me.cluster || usable_remote(view, cluster, service)
        })
        .flat_map(|(cluster, service)| service.backends.iter().map(move |b| (cluster, b)))
        .filter(|(cluster, backend)| lease_alive(view, cluster, backend))
        .filter_map(|(cluster, backend)| {
            let target = BackendTarget {
                ip: backend.ip,
                port: target_port(backend, port)?,
                cluster: cluster.clone(),
                node: backend.node.as_ref().map(ToString::to_string),
            };
            Some(Candidate {
                local: *cluster == me.cluster,
                backend,
                target,
            })
        })
        .collect();

    let any_ready = candidates.iter().any(|c| c.backend.ready);
    let healthy: Vec<Candidate<'_>> = candidates
        .into_iter()
        .filter(|c| {
            let b = c.backend;
            if any_ready {
                b.ready
            } else {
                b.serving && b.terminating
            }
        })
        .collect();

    let chosen = match own.affinity {
        Affinity::None => healthy,
        Affinity::Local => prefer(healthy, true),
        Affinity::Remote => prefer(healthy, false),
    };
    let mut out: Vec<BackendTarget> = chosen.into_iter().map(|c| c.target).collect();
    out.sort();
    out.dedup();
    out
}

fn usable_remote(view: &MergedView, cluster: &ClusterName, service: &GlobalService) -> bool {
    service.shared && view.is_reachable(cluster)
}

fn lease_alive(view: &MergedView, cluster: &ClusterName, backend: &Backend) -> bool {
    match &backend.node {
        None => true,
        Some(name) => view
            .node(cluster, name.as_str())
            .is_some_and(|node| node.wireguard.is_some()),
    }
}

fn target_port(backend: &Backend, port: &ServicePort) -> Option<u16> {
    backend
        .ports
        .iter()
        .find(|p| p.name == port.name && p.protocol == port.protocol)
        .map(|p| p.port.get())
}

/// The candidates on the preferred side (local or remote) while there are any, else
/// the others.
fn prefer(healthy: Vec<Candidate<'_>>, local: bool) -> Vec<Candidate<'_>> {
    let (preferred, others): (Vec<_>, Vec<_>) = healthy.into_iter().partition(|c| c.local == local);
    if preferred.is_empty() {
        others
    } else {
        preferred
    }
}
