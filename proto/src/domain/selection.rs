//! Which backends of a global service a node agent load-balances to, per frontend
//! port, and why each other backend is not among them (DESIGN.md, "Global services",
//! "Failure handling"). One rule for the agent, which programs the result, and for
//! `ctl services`, which shows it:
//!
//! 1. **Merge rule** (Cilium's): our own backends are always candidates (our `shared`
//!    flag only says whether *we* export them). A remote cluster's are candidates when
//!    its copy of the service exists (so it is global there) and is `shared`, and the
//!    apiserver has not marked that peer unreachable.
//! 2. **Node lease**: a backend on a node whose agent holds no lease is out. A backend
//!    naming no node has no lease to check and passes on its conditions alone.
//! 3. **Port**: the backend port with the service port's name and protocol, as
//!    kube-proxy resolves `targetPort` through EndpointSlice ports; a backend without
//!    one is no candidate for this frontend (so affinity looks only at backends that
//!    can serve it).
//! 4. **Conditions** (kube-proxy's rule for terminating endpoints): the `ready` ones;
//!    only when no candidate at all is ready, those that are `serving` and
//!    `terminating`, so draining pods take traffic only as a last resort.
//! 5. **Affinity** (of our own copy): `local` keeps our healthy backends while any
//!    exists, else the remote ones; `remote` is the mirror; `none` keeps all.

use crate::{Affinity, Backend, DnsSubdomain, ServicePort};

/// Whether a backend's node has a live agent lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    Alive,
    Expired,
    Unknown,
}

/// One cluster's copy of the service.
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

#[cfg(test)]
mod tests {
    use std::num::NonZeroU16;

    use super::*;
    use crate::{BackendPort, Protocol};

    const HTTP: u16 = 8080;

    fn port() -> ServicePort {
        ServicePort {
            name: None,
            port: NonZeroU16::new(80).expect("non-zero"),
            protocol: Protocol::Tcp,
        }
    }

    fn backend(last: u8, node: Option<&str>, ready: bool, terminating: bool) -> Backend {
        Backend {
            ip: [10, 0, 0, last].into(),
            ports: vec![BackendPort {
                name: None,
                port: NonZeroU16::new(HTTP).expect("non-zero"),
                protocol: Protocol::Tcp,
            }],
            node: node.map(|n| DnsSubdomain::new(n).expect("a node name")),
            zone: None,
            ready,
            serving: ready || terminating,
            terminating,
        }
    }

    fn copy<'a>(cluster: &'a str, local: bool, backends: &'a [Backend]) -> ClusterCopy<'a> {
        ClusterCopy {
            cluster,
            local,
            shared: true,
            reachable: true,
            backends,
        }
    }

    fn alive(_: &str, _: &DnsSubdomain) -> Lease {
        Lease::Alive
    }

    #[test]
    fn affinity_local_keeps_local_backends_while_one_is_healthy() {
        let here = [
            backend(1, None, true, false),
            backend(2, None, false, false),
        ];
        let there = [backend(3, None, true, false)];
        let copies = [copy("a", true, &here), copy("b", false, &there)];
        let d = decide(Affinity::Local, &copies, &port(), &alive);
        assert_eq!(
            d,
            [
                vec![Decision::Selected(HTTP), Decision::NotReady],
                vec![Decision::NotPreferred]
            ]
        );
        // The local one unready too: the remote one takes over.
        let here = [backend(1, None, false, false)];
        let copies = [copy("a", true, &here), copy("b", false, &there)];
        let d = decide(Affinity::Local, &copies, &port(), &alive);
        assert_eq!(
            d,
            [vec![Decision::NotReady], vec![Decision::Selected(HTTP)]]
        );
        // `none` keeps every healthy one.
        let here = [backend(1, None, true, false)];
        let copies = [copy("a", true, &here), copy("b", false, &there)];
        let d = decide(Affinity::None, &copies, &port(), &alive);
        assert_eq!(
            d,
            [
                vec![Decision::Selected(HTTP)],
                vec![Decision::Selected(HTTP)]
            ]
        );
    }

    #[test]
    fn remote_copies_need_sharing_reachability_and_live_leases() {
        let here = [backend(1, None, true, false)];
        let there = [backend(3, Some("b-node"), true, false)];
        let mut b = copy("b", false, &there);
        b.shared = false;
        let d = decide(
            Affinity::None,
            &[copy("a", true, &here), b],
            &port(),
            &alive,
        );
        assert_eq!(d[1], [Decision::NotShared]);
        b.shared = true;
        b.reachable = false;
        let d = decide(
            Affinity::None,
            &[copy("a", true, &here), b],
            &port(),
            &alive,
        );
        assert_eq!(d[1], [Decision::ClusterUnreachable]);
        b.reachable = true;
        let expired = |_: &str, _: &DnsSubdomain| Lease::Expired;
        let d = decide(
            Affinity::None,
            &[copy("a", true, &here), b],
            &port(),
            &expired,
        );
        assert_eq!(d[1], [Decision::LeaseExpired]);
        // A backend naming no node has no lease to check.
        assert_eq!(d[0], [Decision::Selected(HTTP)]);
    }

    #[test]
    fn terminating_backends_serve_only_when_none_is_ready_and_ports_must_match() {
        let here = [
            backend(1, None, false, true),
            backend(2, None, false, false),
        ];
        let d = decide(Affinity::None, &[copy("a", true, &here)], &port(), &alive);
        assert_eq!(d, [vec![Decision::Selected(HTTP), Decision::NotReady]]);
        let mut udp = port();
        udp.protocol = Protocol::Udp;
        let d = decide(Affinity::None, &[copy("a", true, &here)], &udp, &alive);
        assert_eq!(
            d,
            [vec![Decision::NoMatchingPort, Decision::NoMatchingPort]]
        );
    }
}
