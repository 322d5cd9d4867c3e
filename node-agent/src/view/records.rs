//! The records of the merged view, indexed the way the planner reads them.

use std::{borrow::Borrow, collections::BTreeMap, fmt};

use clustermesh_proto::{
    Cluster, ClusterName, DnsLabel, DnsSubdomain, GlobalService, IdentityId, Keyed, Node, Record,
    RecordKind, StoreKey,
};

use super::{by_cluster::ByCluster, endpoints::EndpointTable, identities::IdentityTable};

/// `namespace/name` of a global service: the same service in every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName {
    pub namespace: DnsLabel,
    pub name: DnsLabel,
}

impl ServiceName {
    pub fn of(service: &GlobalService) -> Self {
        Self {
            namespace: service.namespace.clone(),
            name: service.name.clone(),
        }
    }

    /// From a store key's `namespace/name`; `None` if it is not one.
    pub fn parse(key_name: &str) -> Option<Self> {
        let (namespace, name) = key_name.split_once('/')?;
        Some(Self {
            namespace: DnsLabel::new(namespace).ok()?,
            name: DnsLabel::new(name).ok()?,
        })
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Every record kind in its own map. Nodes and services are nested so the planner's
/// questions ("the nodes of cluster X", "service S in every cluster") are lookups.
/// Inner maps are never left empty, so iterating them never finds a ghost entry.
/// Endpoints, by far the most numerous, and identities, one per label set, have
/// compact tables of their own.
#[derive(Debug, Default)]
pub(super) struct Records {
    pub(super) clusters: BTreeMap<ClusterName, Cluster>,
    pub(super) nodes: BTreeMap<ClusterName, BTreeMap<DnsSubdomain, Node>>,
    pub(super) identities: IdentityTable,
    pub(super) endpoints: EndpointTable,
    pub(super) services: BTreeMap<ServiceName, ByCluster>,
}

impl Records {
    /// Stores `record`, an endpoint or identity with snapshot mark `mark`. Returns
    /// whether anything changed, and the record's key unless it is an endpoint or an
    /// identity (those are tracked by their mark, not by key).
    pub(super) fn upsert(&mut self, record: Record, mark: u32) -> (Option<StoreKey>, bool) {
        let key = match &record {
            Record::Endpoint(_) | Record::Identity(_) => None,
            other => Some(other.store_key()),
        };
        let changed = match record {
            Record::Cluster(c) => replace(&mut self.clusters, c.name.clone(), c),
            Record::Node(n) => {
                let inner = self.nodes.entry(n.cluster.clone()).or_default();
                replace(inner, n.name.clone(), n)
            }
            Record::Identity(i) => self.identities.upsert(i, mark),
            Record::Endpoint(e) => self.endpoints.upsert(e, mark),
            Record::GlobalService(s) => self
                .services
                .entry(ServiceName::of(&s))
                .or_default()
                .replace(s),
        };
        (key, changed)
    }

    /// Removes the record at `key`; returns whether there was one.
    pub(super) fn remove(&mut self, key: &StoreKey) -> bool {
        match key.kind() {
            RecordKind::Cluster => self.clusters.remove(key.name()).is_some(),
            RecordKind::Node => remove_nested(&mut self.nodes, key.cluster(), key.name()),
            RecordKind::Identity => (key.name().parse::<u32>().ok())
                .and_then(|id| IdentityId::try_from(id).ok())
                .is_some_and(|id| self.identities.remove(key.cluster(), id)),
            RecordKind::Endpoint => key
                .name()
                .parse()
                .is_ok_and(|ip| self.endpoints.remove(key.cluster(), ip)),
            RecordKind::GlobalService => ServiceName::parse(key.name())
                .is_some_and(|name| self.remove_service(&name, key.cluster())),
        }
    }

    /// The key of every record held but endpoints and identities.
    pub(super) fn keys(&self) -> Vec<StoreKey> {
        let nodes = self.nodes.values().flat_map(BTreeMap::values);
        let services = self.services.values().flat_map(ByCluster::values);
        self.clusters
            .values()
            .map(Keyed::store_key)
            .chain(nodes.map(Keyed::store_key))
            .chain(services.map(Keyed::store_key))
            .collect()
    }

    fn remove_service(&mut self, name: &ServiceName, cluster: &ClusterName) -> bool {
        let Some(copies) = self.services.get_mut(name) else {
            return false;
        };
        let removed = copies.remove(cluster);
        if copies.is_empty() {
            self.services.remove(name);
        }
        removed
    }
}

/// Inserts unless an equal value is already there, so a re-sent record is no change.
fn replace<K: Ord, V: PartialEq>(map: &mut BTreeMap<K, V>, key: K, value: V) -> bool {
    if map.get(&key) == Some(&value) {
        return false;
    }
    map.insert(key, value);
    true
}

fn remove_nested<K1, K2, V, Q1, Q2>(
    map: &mut BTreeMap<K1, BTreeMap<K2, V>>,
    outer: &Q1,
    inner: &Q2,
) -> bool
where
    K1: Ord + Borrow<Q1>,
    K2: Ord + Borrow<Q2>,
    Q1: Ord + ?Sized,
    Q2: Ord + ?Sized,
{
    let Some(entries) = map.get_mut(outer) else {
        return false;
    };
    let removed = entries.remove(inner).is_some();
    if entries.is_empty() {
        map.remove(outer);
    }
    removed
}
