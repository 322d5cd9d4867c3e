//! Which backends a node agent of this cluster load-balances to, per frontend port.
//! It mirrors `node-agent/src/plan/select.rs` step for step (DESIGN.md, "Global
//! services"), but says for every backend *why* it is or is not selected:
//!
//! 1. **Merge rule:** our own backends are always candidates; a remote cluster's only
//!    when its copy is `shared` and the apiserver has it reachable.
//! 2. **Node lease:** a backend on a node whose agent holds no lease is out. ctl sees
//!    leases of its own cluster only (GetStatus); remote ones are [`Lease::Unknown`]
//!    and count as alive.
//! 3. **Port:** the backend port with the service port's name and protocol.
//! 4. **Conditions:** the `ready` candidates; only when none is ready, those
//!    `serving` and `terminating`.
//! 5. **Affinity:** `local` keeps our healthy backends while any exists, else the
//!    remote ones; `remote` is the mirror; `none` keeps all.

use std::net::IpAddr;

use clustermesh_proto::{Affinity, Backend, DnsSubdomain, ServicePort};

/// Whether a backend's node has a live agent lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    Alive,
    Expired,
    Unknown,
}

/// One cluster's copy of the service, as ListGlobalServices reports it.
#[derive(Debug, Clone, Copy)]
pub struct ClusterCopy<'a> {
    pub cluster: &'a str,
    pub local: bool,
    pub shared: bool,
    pub reachable: bool,
    pub backends: &'a [Backend],
}

/// Why a backend is, or is not, behind one frontend port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Selected, on this backend port.
    Selected(u16),
    NotShared,
    ClusterUnreachable,
    LeaseExpired,
    NoMatchingPort,
    NotReady,
    /// Healthy, but affinity prefers the other side while it has healthy backends.
    NotPreferred,
}

impl Decision {
    pub fn reason(self, affinity: Affinity) -> Option<String> {
        Some(match self {
            Self::Selected(_) => return None,
            Self::NotShared => "its cluster does not share the service".to_owned(),
            Self::ClusterUnreachable => "its cluster is unreachable".to_owned(),
            Self::LeaseExpired => "its node has no live agent lease".to_owned(),
            Self::NoMatchingPort => "no backend port matches the service port".to_owned(),
            Self::NotReady => "not ready".to_owned(),
            Self::NotPreferred => {
                let side = if affinity == Affinity::Remote {
                    "remote"
                } else {
                    "local"
                };
                format!("affinity {affinity} prefers the healthy {side} backends")
            }
        })
    }
}

/// A selected backend of one frontend port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub ip: IpAddr,
    pub port: u16,
    pub cluster: String,
}

/// The decision for every backend of every copy (same shape as `copies`), for the
/// frontend `port`. With no local copy there is no frontend, so nothing is selected.
pub fn decide(
    affinity: Affinity,
    copies: &[ClusterCopy<'_>],
    port: &ServicePort,
    lease: &dyn Fn(&str, &DnsSubdomain) -> Lease,
) -> Vec<Vec<Decision>> {
    let mut decisions: Vec<Vec<Decision>> = copies
        .iter()
        .map(|copy| {
            copy.backends
                .iter()
                .map(|b| eligibility(copy, b, port, lease))
                .collect()
        })
        .collect();
    if !copies.iter().any(|c| c.local) {
        return decisions;
    }
    let backend = |ci: usize, bi: usize| &copies[ci].backends[bi];
    let candidates: Vec<(usize, usize)> = decisions
        .iter()
        .enumerate()
        .flat_map(|(ci, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, d)| matches!(d, Decision::Selected(_)))
                .map(move |(bi, _)| (ci, bi))
        })
        .collect();
    let any_ready = candidates.iter().any(|&(ci, bi)| backend(ci, bi).ready);
    let healthy = |b: &Backend| {
        if any_ready {
            b.ready
        } else {
            b.serving && b.terminating
        }
    };
    for &(ci, bi) in &candidates {
        if !healthy(backend(ci, bi)) {
            decisions[ci][bi] = Decision::NotReady;
        }
    }
    let preferred_local = match affinity {
        Affinity::None => return decisions,
        Affinity::Local => true,
        Affinity::Remote => false,
    };
    let selected = |d: &Decision| matches!(d, Decision::Selected(_));
    let preferred_has_any = candidates
        .iter()
        .any(|&(ci, bi)| copies[ci].local == preferred_local && selected(&decisions[ci][bi]));
    if preferred_has_any {
        for &(ci, bi) in &candidates {
            if copies[ci].local != preferred_local && selected(&decisions[ci][bi]) {
                decisions[ci][bi] = Decision::NotPreferred;
            }
        }
    }
    decisions
}

/// The selected targets of `decisions`, sorted as the agent sorts them.
pub fn targets(copies: &[ClusterCopy<'_>], decisions: &[Vec<Decision>]) -> Vec<Target> {
    let mut out: Vec<Target> = copies
        .iter()
        .zip(decisions)
        .flat_map(|(copy, row)| {
            copy.backends.iter().zip(row).filter_map(|(b, d)| match d {
                Decision::Selected(port) => Some(Target {
                    ip: b.ip,
                    port: *port,
                    cluster: copy.cluster.to_owned(),
                }),
                _ => None,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Steps 1 to 3; `Selected` here means "candidate".
fn eligibility(
    copy: &ClusterCopy<'_>,
    backend: &Backend,
    port: &ServicePort,
    lease: &dyn Fn(&str, &DnsSubdomain) -> Lease,
) -> Decision {
    if !copy.local && !copy.shared {
        return Decision::NotShared;
    }
    if !copy.local && !copy.reachable {
        return Decision::ClusterUnreachable;
    }
    if let Some(node) = &backend.node
        && lease(copy.cluster, node) == Lease::Expired
    {
        return Decision::LeaseExpired;
    }
    backend
        .ports
        .iter()
        .find(|p| p.name == port.name && p.protocol == port.protocol)
        .map_or(Decision::NoMatchingPort, |p| {
            Decision::Selected(p.port.get())
        })
}
