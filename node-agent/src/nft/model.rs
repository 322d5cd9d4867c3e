//! Our table as read back from the kernel, and what the planner sees of it.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

use clustermesh_proto::ClusterName;

use super::names;
use crate::{
    exec::ExecError,
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
    view::ServiceName,
};

/// Packets and bytes a backend's counted element has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// One rule of our table, as far as we understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A spread chain's `numgen random mod <modulus> vmap { <k> : goto dnat<family>_<k> }`
    /// for every slot `k` below the modulus.
    Spread { v4: bool, modulus: u32 },
    /// A slot's `dnat <family> to <family> daddr . meta l4proto . th dport map
    /// @slot<family>_<slot>`.
    Dnat { v4: bool, slot: u32 },
    /// Anything else: the base chains' rules, or rules someone else added.
    Other,
}

/// A frontend's element in its verdict map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dispatch {
    /// The spread chain it goes to.
    pub chain: String,
    /// The service's name.
    pub comment: Option<String>,
}

/// A backend's element in the counted set: its connections, and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    /// `cluster/node` or `cluster`.
    pub comment: Option<String>,
    pub counter: Counter,
}

/// The key of a counted element: the connection's original destination (VIP and port)
/// and its reply source (the backend). The protocol is not part of it.
pub(crate) type CountedKey = (IpAddr, u16, SocketAddr);

/// The parts of `nft -j list table` we act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listed {
    /// Every chain of the table, with its rules in order.
    pub chains: BTreeMap<String, Vec<Rule>>,
    /// The verdict maps' elements.
    pub dispatch: BTreeMap<ServiceFrontend, Dispatch>,
    /// The slot maps' elements: (frontend, slot) → backend.
    pub backends: BTreeMap<(ServiceFrontend, u32), SocketAddr>,
    /// The counted sets' elements.
    pub counted: BTreeMap<CountedKey, Counted>,
    /// The empty sets' elements: frontend → its comment (the service's name).
    pub empty: BTreeMap<ServiceFrontend, Option<String>>,
}

impl Listed {
    /// Whether the spread chain for `modulus` backends of that family holds exactly its
    /// rule, and every slot's dnat chain its own.
    pub fn spread_intact(&self, v4: bool, modulus: u32) -> bool {
        self.holds(
            &names::spread_chain(v4, modulus),
            &Rule::Spread { v4, modulus },
        ) && (0..modulus).all(|slot| self.dnat_intact(v4, slot))
    }

    /// Whether slot `slot`'s dnat chain holds exactly its rule.
    pub fn dnat_intact(&self, v4: bool, slot: u32) -> bool {
        self.holds(&names::dnat_chain(v4, slot), &Rule::Dnat { v4, slot })
    }

    fn holds(&self, chain: &str, rule: &Rule) -> bool {
        self.chains.get(chain).map(Vec::as_slice) == Some(std::slice::from_ref(rule))
    }

    /// The backends in `frontend`'s slots, in slot order (a gap ends them).
    pub fn slots(&self, frontend: &ServiceFrontend) -> Vec<SocketAddr> {
        self.backends
            .range((*frontend, 0)..=(*frontend, u32::MAX))
            .enumerate()
            .take_while(|(i, ((_, slot), _))| *slot as usize == *i)
            .map(|(_, (_, target))| *target)
            .collect()
    }

    /// The backend of every slot `frontend` has, gaps included.
    pub fn slot_targets(&self, frontend: &ServiceFrontend) -> Vec<SocketAddr> {
        self.backends
            .range((*frontend, 0)..=(*frontend, u32::MAX))
            .map(|(_, target)| *target)
            .collect()
    }

    /// Every slot `frontend` has, gaps included.
    pub fn slot_numbers(&self, frontend: &ServiceFrontend) -> Vec<u32> {
        self.backends
            .range((*frontend, 0)..=(*frontend, u32::MAX))
            .map(|((_, slot), _)| *slot)
            .collect()
    }

    /// What is programmed, in the planner's terms. A service whose parts are not
    /// exactly what we render (its spread chain, every slot, a counted element per
    /// backend) is left out, so the planner's diff sets it again and the next apply
    /// repairs it.
    pub fn observe(&self) -> Result<BTreeMap<ServiceFrontend, ServiceBackends>, ExecError> {
        let unknown_cluster = ClusterName::new("unknown")
            .map_err(|e| ExecError::new("nft placeholder cluster name", e))?;
        let mut out = BTreeMap::new();
        for (frontend, dispatch) in &self.dispatch {
            let v4 = frontend.vip.is_ipv4();
            let Some((chain_v4, modulus)) = names::parse_spread_chain(&dispatch.chain) else {
                continue;
            };
            if chain_v4 != v4 || !self.spread_intact(v4, modulus) {
                continue;
            }
            let slots = self.slots(frontend);
            if slots.len() != modulus as usize
                || self.slot_numbers(frontend).len() != slots.len()
                || slots.iter().any(|t| t.is_ipv4() != v4)
            {
                continue;
            }
            let backends: Option<Vec<BackendTarget>> = slots
                .iter()
                .map(|target| {
                    let counted = self.counted.get(&(frontend.vip, frontend.port, *target))?;
                    Some(backend(
                        *target,
                        counted.comment.as_deref(),
                        &unknown_cluster,
                    ))
                })
                .collect();
            let Some(mut backends) = backends else {
                continue;
            };
            backends.sort();
            let name = service_name(dispatch.comment.as_deref())?;
            out.insert(*frontend, ServiceBackends { name, backends });
        }
        // A frontend in both places is half-programmed: left out, so it is set again.
        for (frontend, comment) in &self.empty {
            if out.remove(frontend).is_none() && !self.dispatch.contains_key(frontend) {
                let name = service_name(comment.as_deref())?;
                out.insert(
                    *frontend,
                    ServiceBackends {
                        name,
                        backends: Vec::new(),
                    },
                );
            }
        }
        Ok(out)
    }

    /// Whether `frontend` is rejected with `comment` as its name.
    pub fn empty_has(&self, frontend: &ServiceFrontend, comment: &Option<String>) -> bool {
        self.empty.get(frontend) == Some(comment)
    }

    /// New connections DNATed to each cluster's backends of the frontends at `vip:port`,
    /// by the cluster named in each counted element's comment (`cluster/node`).
    pub fn connections_per_cluster(&self, target: SocketAddr) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for ((_, _, _), counted) in self.counted_at(target.ip(), target.port()) {
            if let Some(comment) = &counted.comment {
                let cluster = comment.split('/').next().unwrap_or(comment);
                *out.entry(cluster.to_owned()).or_default() += counted.counter.packets;
            }
        }
        out
    }

    /// Per-backend counters of every service, keyed by frontend and backend address.
    pub fn counters(&self) -> BTreeMap<(ServiceFrontend, SocketAddr), Counter> {
        let mut out = BTreeMap::new();
        for ((frontend, _), target) in &self.backends {
            if let Some(counted) = self.counted.get(&(frontend.vip, frontend.port, *target)) {
                out.insert((*frontend, *target), counted.counter);
            }
        }
        out
    }

    /// The counted elements of connections to `vip:port`: a range, not a scan, since
    /// rendering asks for every service.
    pub fn counted_at(
        &self,
        vip: IpAddr,
        port: u16,
    ) -> impl Iterator<Item = (&CountedKey, &Counted)> {
        let lowest = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        let highest = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(u128::MAX)), u16::MAX);
        self.counted
            .range((vip, port, lowest)..=(vip, port, highest))
    }
}

/// A backend from its address and its counted element's comment (`cluster/node` or
/// `cluster`; metadata only, so best effort).
fn backend(target: SocketAddr, comment: Option<&str>, unknown: &ClusterName) -> BackendTarget {
    let (cluster, node) = match comment {
        Some(c) => match c.split_once('/') {
            Some((cluster, node)) => (cluster, Some(node.to_owned())),
            None => (c, None),
        },
        None => ("", None),
    };
    BackendTarget {
        ip: target.ip(),
        port: target.port(),
        cluster: ClusterName::new(cluster).unwrap_or_else(|_| unknown.clone()),
        node,
    }
}

/// The service's name from a comment, else a placeholder (the planner ignores names).
fn service_name(comment: Option<&str>) -> Result<ServiceName, ExecError> {
    comment
        .and_then(ServiceName::parse)
        .or_else(|| ServiceName::parse("unknown/unknown"))
        .ok_or_else(|| ExecError::new("nft placeholder service name", "invalid"))
}
