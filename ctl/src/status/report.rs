//! The status model: what `GetStatus` answered, judged. Pure, so the verdict rules
//! are tested without a network: a cluster is healthy when its apiserver answers,
//! every peer is connected, reachable and synced in every record kind, no registered
//! node has fewer tunnels up than expected, and the apiserver raises no warning.

use std::collections::BTreeMap;

use clustermesh_proto::{RecordKind, pb};
use serde::Serialize;

use crate::error::CtlError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    pub healthy: bool,
    /// One line: the overall verdict.
    pub verdict: String,
    pub clusters: Vec<ClusterReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterReport {
    pub context: String,
    /// The apiserver address the context names.
    pub server: String,
    /// As the apiserver describes its cluster; `None` when it did not answer.
    pub cluster: Option<ClusterSummary>,
    pub apiserver: ApiserverReport,
    pub store: Option<StoreReport>,
    pub peers: Vec<PeerReport>,
    pub nodes: Vec<NodeReport>,
    pub warnings: Vec<String>,
    /// Why the cluster is not healthy, one sentence each; empty when it is.
    pub problems: Vec<String>,
    pub healthy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterSummary {
    pub name: String,
    pub id: u32,
    pub pod_cidrs: Vec<String>,
    pub advertise_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiserverReport {
    /// A TLS connection was established.
    pub reachable: bool,
    /// `GetStatus` answered.
    pub ready: bool,
    pub error: Option<String>,
    pub hint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreReport {
    pub backend: String,
    pub revision: i64,
    pub leader: Option<String>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerReport {
    pub name: String,
    pub advertise_address: String,
    pub connected: bool,
    pub reachable: bool,
    /// Store kind names ("clusters", "nodes", ...), in [`RecordKind::ALL`] order.
    pub synced_kinds: Vec<String>,
    pub missing_kinds: Vec<String>,
    pub synced: bool,
    pub last_heartbeat_age_ms: Option<u64>,
    pub record_counts: BTreeMap<String, u64>,
    pub last_error: Option<String>,
    /// Invalid messages from the peer that the import skipped (the apiserver's log
    /// names each).
    pub rejected_events: u64,
    pub healthy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeReport {
    pub name: String,
    pub registered: bool,
    pub last_heartbeat_age_ms: Option<u64>,
    /// `None` until the node's agent has reported its dataplane.
    pub tunnels: Option<TunnelsReport>,
    pub zone: Option<String>,
    pub wireguard_endpoint: Option<String>,
    pub healthy: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TunnelsReport {
    pub up: u32,
    pub expected: u32,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Milliseconds since `unix_ms`; `None` for the contract's "never" (0).
fn age(unix_ms: i64, now_ms: i64) -> Option<u64> {
    (unix_ms > 0).then(|| u64::try_from(now_ms - unix_ms).unwrap_or(0))
}

impl PeerReport {
    pub fn from_pb(peer: &pb::PeerStatus, now_ms: i64) -> Self {
        let synced: Vec<RecordKind> = RecordKind::ALL
            .into_iter()
            .filter(|k| {
                peer.synced_kinds
                    .contains(&(pb::RecordKind::from(*k) as i32))
            })
            .collect();
        let missing: Vec<String> = RecordKind::ALL
            .into_iter()
            .filter(|k| !synced.contains(k))
            .map(|k| k.as_str().to_owned())
            .collect();
        let healthy = peer.connected && peer.reachable && missing.is_empty();
        Self {
            name: peer.name.clone(),
            advertise_address: peer.advertise_address.clone(),
            connected: peer.connected,
            reachable: peer.reachable,
            synced_kinds: synced.iter().map(|k| k.as_str().to_owned()).collect(),
            synced: missing.is_empty(),
            missing_kinds: missing,
            last_heartbeat_age_ms: age(peer.last_heartbeat_unix_ms, now_ms),
            record_counts: peer.record_counts.clone().into_iter().collect(),
            last_error: non_empty(&peer.last_error),
            rejected_events: peer.rejected_events,
            healthy,
        }
    }

    /// One sentence per unmet condition.
    pub fn problems(&self) -> Vec<String> {
        let name = &self.name;
        let mut out = Vec::new();
        if !self.connected {
            let error = self
                .last_error
                .as_deref()
                .map_or(String::new(), |e| format!(": {e}"));
            out.push(format!("peer {name} is not connected{error}"));
        }
        if !self.reachable {
            let heartbeat = match self.last_heartbeat_age_ms {
                Some(ms) => format!(
                    "last heartbeat {} ago",
                    crate::duration::format_duration(std::time::Duration::from_millis(ms),)
                ),
                None => "no heartbeat yet".to_owned(),
            };
            out.push(format!("peer {name} is not reachable ({heartbeat})"));
        }
        if !self.synced {
            out.push(format!(
                "peer {name} has not synced {}",
                self.missing_kinds.join(", ")
            ));
        }
        out
    }
}

impl NodeReport {
    pub fn from_pb(node: &pb::NodeStatus, now_ms: i64) -> Self {
        let tunnels = node.tunnels.map(|t| TunnelsReport {
            up: t.up,
            expected: t.expected,
        });
        let short = tunnels.is_some_and(|t| t.up < t.expected);
        Self {
            name: node.name.clone(),
            registered: node.registered,
            last_heartbeat_age_ms: age(node.last_heartbeat_unix_ms, now_ms),
            tunnels,
            zone: non_empty(&node.zone),
            wireguard_endpoint: non_empty(&node.wireguard_endpoint),
            healthy: !(node.registered && short),
        }
    }

    pub fn problems(&self) -> Vec<String> {
        match self.tunnels {
            Some(t) if !self.healthy => vec![format!(
                "node {}: {} of {} tunnel peers up",
                self.name, t.up, t.expected
            )],
            _ => Vec::new(),
        }
    }
}

impl ClusterReport {
    /// A cluster whose apiserver answered `GetStatus` at `now_ms`.
    pub fn from_status(
        context: &str,
        server: &str,
        status: &pb::GetStatusResponse,
        now_ms: i64,
    ) -> Self {
        let peers: Vec<PeerReport> = status
            .peers
            .iter()
            .map(|p| PeerReport::from_pb(p, now_ms))
            .collect();
        let nodes: Vec<NodeReport> = status
            .nodes
            .iter()
            .map(|n| NodeReport::from_pb(n, now_ms))
            .collect();
        let mut problems: Vec<String> = peers.iter().flat_map(PeerReport::problems).collect();
        problems.extend(nodes.iter().flat_map(NodeReport::problems));
        problems.extend(status.warnings.iter().map(|w| format!("warning: {w}")));
        Self {
            context: context.to_owned(),
            server: server.to_owned(),
            cluster: status.cluster.as_ref().map(|c| ClusterSummary {
                name: c.name.clone(),
                id: c.id,
                pod_cidrs: c.pod_cidrs.clone(),
                advertise_address: c.advertise_address.clone(),
            }),
            apiserver: ApiserverReport {
                reachable: true,
                ready: true,
                error: None,
                hint: None,
            },
            store: status.store.as_ref().map(|s| StoreReport {
                backend: s.backend.clone(),
                revision: s.revision,
                leader: non_empty(&s.leader),
                members: s.members.clone(),
            }),
            healthy: problems.is_empty(),
            peers,
            nodes,
            warnings: status.warnings.clone(),
            problems,
        }
    }

    /// A cluster whose apiserver could not be asked. It counts as reachable when the
    /// connection itself worked and only the call failed.
    pub fn failed(context: &str, server: &str, error: &CtlError) -> Self {
        let (reachable, what) = match error {
            CtlError::Config(_) => (false, "cannot ask the apiserver"),
            CtlError::Api {
                call: "connect", ..
            } => (false, "apiserver unreachable"),
            _ => (true, "apiserver not ready"),
        };
        Self {
            context: context.to_owned(),
            server: server.to_owned(),
            cluster: None,
            apiserver: ApiserverReport {
                reachable,
                ready: false,
                error: Some(error.to_string()),
                hint: error.hint(),
            },
            store: None,
            peers: Vec::new(),
            nodes: Vec::new(),
            warnings: Vec::new(),
            problems: vec![format!("{what}: {error}")],
            healthy: false,
        }
    }

    /// The peer called `name`, if this cluster imports it.
    pub fn peer(&self, name: &str) -> Option<&PeerReport> {
        self.peers.iter().find(|p| p.name == name)
    }
}

impl StatusReport {
    pub fn new(clusters: Vec<ClusterReport>) -> Self {
        let healthy = !clusters.is_empty() && clusters.iter().all(|c| c.healthy);
        Self {
            healthy,
            verdict: verdict(&clusters),
            clusters,
        }
    }

    pub fn problem_count(&self) -> usize {
        self.clusters.iter().map(|c| c.problems.len()).sum()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn verdict(clusters: &[ClusterReport]) -> String {
    let problems: usize = clusters.iter().map(|c| c.problems.len()).sum();
    let sick = clusters.iter().filter(|c| !c.healthy).count();
    if clusters.is_empty() {
        return "NOT healthy: no cluster to check".to_owned();
    }
    if sick > 0 {
        return format!(
            "NOT healthy: {} in {sick} of {}",
            plural(problems, "problem", "problems"),
            plural(clusters.len(), "cluster", "clusters"),
        );
    }
    let links: usize = clusters.iter().map(|c| c.peers.len()).sum();
    let nodes: usize = clusters.iter().map(|c| c.nodes.len()).sum();
    format!(
        "healthy: {} ready, {} connected, reachable and synced, {}",
        plural(clusters.len(), "cluster", "clusters"),
        plural(links, "peer link", "peer links"),
        plural(nodes, "node", "nodes"),
    )
}
