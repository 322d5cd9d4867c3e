//! `ctl services`' side of backend selection: the rule itself is
//! [`clustermesh_proto::selection`], the one the node agents program. ctl sees leases of
//! its own cluster only (GetStatus); remote ones are [`Lease::Unknown`] and count as
//! alive. Here: why a decision was made, in words, and the selected targets.

use std::net::IpAddr;

use clustermesh_proto::Affinity;
pub use clustermesh_proto::selection::{ClusterCopy, Decision, Lease, decide};

/// Why a backend is not selected, in words; `None` when it is.
pub fn reason(decision: Decision, affinity: Affinity) -> Option<String> {
    Some(match decision {
        Decision::Selected(_) => return None,
        Decision::NotShared => "its cluster does not share the service".to_owned(),
        Decision::ClusterUnreachable => "its cluster is unreachable".to_owned(),
        Decision::LeaseExpired => "its node has no live agent lease".to_owned(),
        Decision::NoMatchingPort => "no backend port matches the service port".to_owned(),
        Decision::NotReady => "not ready".to_owned(),
        Decision::NotPreferred => {
            let side = if affinity == Affinity::Remote {
                "remote"
            } else {
                "local"
            };
            format!("affinity {affinity} prefers the healthy {side} backends")
        }
    })
}

/// A selected backend of one frontend port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub ip: IpAddr,
    pub port: u16,
    pub cluster: String,
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
