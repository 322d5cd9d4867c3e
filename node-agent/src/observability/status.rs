//! The dataplane as last applied, summarised for metrics and heartbeats. Pure: built
//! from the desired state the agent converged to and the device's handshake times.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use clustermesh_proto::{WireGuardKey, pb};

use crate::plan::DesiredState;

/// A peer counts as up while its latest handshake is younger than this: WireGuard
/// rejects a session's keys after 180 s (`REJECT_AFTER_TIME`) without a new handshake.
pub const TUNNEL_UP_WITHIN: Duration = Duration::from_secs(180);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataplaneStatus {
    pub peers: Vec<PeerStatus>,
    pub routes: usize,
    pub services: usize,
    /// Selected backends over every service, by the cluster they live in.
    pub backends_per_cluster: BTreeMap<String, usize>,
    /// Distinct services with no backend to send to (they reject connections).
    pub services_without_backends: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    pub cluster: String,
    pub node: String,
    /// Since the latest handshake; `None` when there has been none.
    pub handshake_age: Option<Duration>,
}

impl PeerStatus {
    pub fn is_up(&self) -> bool {
        self.handshake_age.is_some_and(|age| age < TUNNEL_UP_WITHIN)
    }
}

impl DataplaneStatus {
    /// `handshakes` comes from the device; a planned peer it does not hold yet has had
    /// no handshake.
    pub fn new(
        desired: &DesiredState,
        handshakes: &BTreeMap<WireGuardKey, Option<Duration>>,
    ) -> Self {
        let peers = desired
            .peers
            .iter()
            .map(|(key, spec)| PeerStatus {
                cluster: spec.cluster.to_string(),
                node: spec.node.clone(),
                handshake_age: handshakes.get(key).copied().flatten(),
            })
            .collect();
        let mut backends_per_cluster = BTreeMap::<String, usize>::new();
        let mut without = BTreeSet::new();
        for backends in desired.services.values() {
            if backends.backends.is_empty() {
                without.insert(&backends.name);
            }
            for backend in &backends.backends {
                *backends_per_cluster
                    .entry(backend.cluster.to_string())
                    .or_default() += 1;
            }
        }
        Self {
            peers,
            routes: desired.routes.len(),
            services: desired.services.len(),
            backends_per_cluster,
            services_without_backends: without.len(),
        }
    }

    pub fn tunnel_report(&self) -> pb::TunnelReport {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        pb::TunnelReport {
            expected: count(self.peers.len()),
            up: count(self.peers.iter().filter(|p| p.is_up()).count()),
        }
    }

    /// Tunnel peers per remote cluster, for the `tunnel_peers` gauge.
    pub fn peers_per_cluster(&self) -> BTreeMap<&str, usize> {
        let mut per = BTreeMap::new();
        for peer in &self.peers {
            *per.entry(peer.cluster.as_str()).or_default() += 1;
        }
        per
    }
}
