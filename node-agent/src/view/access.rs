//! What the planner (and status reporting) reads from the view. Every iterator is in
//! key order, so equal views give equal plans.

use std::collections::{BTreeMap, BTreeSet};

use clustermesh_proto::{
    Cluster, ClusterName, Node, PeerState, RecordKind, SyncedKey, SyncedMarker,
};

use super::{ByCluster, EndpointRef, IdentityRef, MergedView, ServiceName};

impl MergedView {
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        self.records.clusters.values()
    }

    pub fn cluster(&self, name: &ClusterName) -> Option<&Cluster> {
        self.records.clusters.get(name)
    }

    /// Every cluster that has at least one node, with its nodes by name.
    pub fn nodes_by_cluster(
        &self,
    ) -> impl Iterator<Item = (&ClusterName, impl Iterator<Item = &Node>)> {
        self.records
            .nodes
            .iter()
            .map(|(cluster, nodes)| (cluster, nodes.values()))
    }

    /// The nodes of one cluster, by name.
    pub fn nodes(&self, cluster: &ClusterName) -> impl Iterator<Item = &Node> {
        self.records
            .nodes
            .get(cluster)
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    pub fn node(&self, cluster: &ClusterName, name: &str) -> Option<&Node> {
        self.records.nodes.get(cluster)?.get(name)
    }

    /// Every global service, with its record in each cluster that exports it.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceName, &ByCluster)> {
        self.records.services.iter()
    }

    /// One global service (`namespace/name`) across clusters, by cluster.
    pub fn service(&self, name: &ServiceName) -> Option<&ByCluster> {
        self.records.services.get(name)
    }

    /// Every identity, by cluster, then id.
    pub fn identities(&self) -> impl Iterator<Item = IdentityRef<'_>> {
        self.records.identities.iter()
    }

    /// Every endpoint, by cluster, then IP.
    pub fn endpoints(&self) -> impl Iterator<Item = EndpointRef<'_>> {
        self.records.endpoints.iter()
    }

    /// How many endpoints the view holds, without walking them.
    pub fn endpoint_count(&self) -> usize {
        self.records.endpoints.len()
    }

    /// Records held per kind, every kind present (with 0 where there are none).
    pub fn record_counts(&self) -> BTreeMap<RecordKind, usize> {
        let r = &self.records;
        BTreeMap::from([
            (RecordKind::Cluster, r.clusters.len()),
            (RecordKind::Node, r.nodes.values().map(BTreeMap::len).sum()),
            (RecordKind::Identity, r.identities.len()),
            (RecordKind::Endpoint, r.endpoints.len()),
            (
                RecordKind::GlobalService,
                r.services.values().map(ByCluster::len).sum(),
            ),
        ])
    }

    pub fn has_endpoint(&self, cluster: &ClusterName, ip: std::net::IpAddr) -> bool {
        self.records.endpoints.contains(cluster, ip)
    }

    pub fn peer_states(&self) -> impl Iterator<Item = &PeerState> {
        self.peers.values()
    }

    pub fn peer_state(&self, cluster: &ClusterName) -> Option<&PeerState> {
        self.peers.get(cluster)
    }

    /// Only an explicit `reachable: false` makes a peer unreachable: without a state
    /// (our own cluster, or a peer the apiserver has not judged yet) it is presumed
    /// reachable, so a missing state never withdraws backends.
    pub fn is_reachable(&self, cluster: &ClusterName) -> bool {
        self.peers.get(cluster).is_none_or(|state| state.reachable)
    }

    /// The kinds whose synced marker the view holds for `cluster`.
    pub fn synced_kinds(&self, cluster: &ClusterName) -> BTreeSet<RecordKind> {
        self.synced
            .keys()
            .filter(|key| &key.cluster == cluster)
            .map(|key| key.kind)
            .collect()
    }

    pub fn synced_marker(&self, cluster: &ClusterName, kind: RecordKind) -> Option<&SyncedMarker> {
        self.synced.get(&SyncedKey::new(cluster.clone(), kind))
    }
}
