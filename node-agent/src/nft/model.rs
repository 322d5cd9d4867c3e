//! Our table as read back from the kernel, and what the planner sees of it.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
};

use clustermesh_proto::ClusterName;

use super::names;
use crate::{
    exec::ExecError,
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
    view::ServiceName,
};

/// Packets and bytes a backend chain's `counter` has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// One rule of our table, as far as we understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A service chain's `numgen random mod N vmap { i : goto <backend chain> }`.
    Spread {
        targets: Vec<String>,
        comment: Option<String>,
    },
    /// A backend chain's `counter dnat`.
    Dnat {
        target: SocketAddr,
        counter: Option<Counter>,
        comment: Option<String>,
    },
    /// Anything else: the base chains' lookups, or rules someone else added.
    Other,
}

/// The parts of `nft -j list table` we act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Listed {
    /// Every chain of the table, with its rules in order.
    pub chains: BTreeMap<String, Vec<Rule>>,
    /// The verdict maps' elements: frontend → the chain it jumps or goes to.
    pub elements: BTreeMap<ServiceFrontend, String>,
    /// The empty sets' elements: frontend → its comment (the service's name).
    pub empty: BTreeMap<ServiceFrontend, Option<String>>,
}

impl Listed {
    /// Whether `chain` holds exactly the one rule that DNATs to `target`. The comment
    /// (cluster/node) is metadata and does not count.
    pub fn backend_intact(&self, chain: &str, target: SocketAddr) -> bool {
        matches!(
            self.chains.get(chain).map(Vec::as_slice),
            Some([Rule::Dnat { target: t, .. }]) if *t == target
        )
    }

    /// The chains whose name starts with `prefix`.
    pub fn chains_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> {
        self.chains
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .map(|(name, _)| name.as_str())
            .take_while(move |name| name.starts_with(prefix))
    }

    /// What is programmed, in the planner's terms. A service whose chains are not
    /// exactly what we render is left out (a damaged backend chain drops just that
    /// backend), so the planner's diff sets it again and the next apply repairs it.
    pub fn observe(&self) -> Result<BTreeMap<ServiceFrontend, ServiceBackends>, ExecError> {
        let unknown_cluster = ClusterName::new("unknown")
            .map_err(|e| ExecError::new("nft placeholder cluster name", e))?;
        let mut out = BTreeMap::new();
        for (frontend, chain) in &self.elements {
            if *chain != names::service_chain(frontend) {
                continue;
            }
            let Some([Rule::Spread { targets, comment }]) =
                self.chains.get(chain).map(Vec::as_slice)
            else {
                continue;
            };
            let backends = targets
                .iter()
                .filter_map(|t| self.backend(chain, frontend.vip, t, &unknown_cluster))
                .collect();
            let mut backends: Vec<BackendTarget> = backends;
            backends.sort();
            let name = service_name(comment.as_deref())?;
            out.insert(*frontend, ServiceBackends { name, backends });
        }
        // A frontend in both places is half-programmed: left out, so it is set again.
        for (frontend, comment) in &self.empty {
            if out.remove(frontend).is_none() && !self.elements.contains_key(frontend) {
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
    /// by the cluster named in each backend chain's comment (`cluster/node`).
    pub fn connections_per_cluster(&self, target: SocketAddr) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (frontend, chain) in &self.elements {
            if frontend.vip != target.ip() || frontend.port != target.port() {
                continue;
            }
            let prefix = names::backend_prefix(chain);
            for name in self.chains_with_prefix(&prefix) {
                if let Some(
                    [
                        Rule::Dnat {
                            counter: Some(c),
                            comment: Some(comment),
                            ..
                        },
                    ],
                ) = self.chains.get(name).map(Vec::as_slice)
                {
                    let cluster = comment.split('/').next().unwrap_or(comment);
                    *out.entry(cluster.to_owned()).or_default() += c.packets;
                }
            }
        }
        out
    }

    /// Per-backend counters of every service, keyed by frontend and backend address.
    pub fn counters(&self) -> BTreeMap<(ServiceFrontend, SocketAddr), Counter> {
        let mut out = BTreeMap::new();
        for (frontend, chain) in &self.elements {
            let prefix = names::backend_prefix(chain);
            for name in self.chains_with_prefix(&prefix) {
                if let Some(
                    [
                        Rule::Dnat {
                            target,
                            counter: Some(c),
                            ..
                        },
                    ],
                ) = self.chains.get(name).map(Vec::as_slice)
                {
                    out.insert((*frontend, *target), *c);
                }
            }
        }
        out
    }

    /// The backend behind `chain`, if it is one of `service`'s and intact.
    fn backend(
        &self,
        service: &str,
        vip: IpAddr,
        chain: &str,
        unknown: &ClusterName,
    ) -> Option<BackendTarget> {
        let Some(
            [
                Rule::Dnat {
                    target, comment, ..
                },
            ],
        ) = self.chains.get(chain).map(Vec::as_slice)
        else {
            return None;
        };
        if chain != names::backend_chain(service, *target) || target.is_ipv4() != vip.is_ipv4() {
            return None;
        }
        // The comment is `cluster/node` or `cluster`; metadata only, so best effort.
        let (cluster, node) = match comment.as_deref() {
            Some(c) => match c.split_once('/') {
                Some((cluster, node)) => (cluster, Some(node.to_owned())),
                None => (c, None),
            },
            None => ("", None),
        };
        Some(BackendTarget {
            ip: target.ip(),
            port: target.port(),
            cluster: ClusterName::new(cluster).unwrap_or_else(|_| unknown.clone()),
            node,
        })
    }
}

/// The service's name from a comment, else a placeholder (the planner ignores names).
fn service_name(comment: Option<&str>) -> Result<ServiceName, ExecError> {
    comment
        .and_then(ServiceName::parse)
        .or_else(|| ServiceName::parse("unknown/unknown"))
        .ok_or_else(|| ExecError::new("nft placeholder service name", "invalid"))
}
