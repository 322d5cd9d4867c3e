//! Remote endpoints, held the way a dataplane reads them: per cluster, IP → identity,
//! node, namespace and pod. At a million endpoints the view is most of the agent's
//! memory, so an entry is kept small: node and namespace names are shared (one copy
//! per distinct name), the pod name is an exact-size box, and snapshot bookkeeping is
//! a mark on the entry instead of a set of keys seen (`MergedView::prune`).

use std::{
    collections::{BTreeMap, HashSet},
    net::IpAddr,
    sync::Arc,
};

use clustermesh_proto::{ClusterName, Endpoint, IdentityId};

#[derive(Debug, Default)]
pub(super) struct EndpointTable {
    by_cluster: BTreeMap<ClusterName, BTreeMap<IpAddr, Entry>>,
    /// Node and namespace names in use; a name is dropped with its last entry.
    names: HashSet<Arc<str>>,
    len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    identity: IdentityId,
    /// The snapshot number current when the entry was last sent.
    mark: u32,
    node: Arc<str>,
    namespace: Arc<str>,
    pod: Box<str>,
}

/// One endpoint as the view holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointRef<'a> {
    pub cluster: &'a ClusterName,
    pub ip: IpAddr,
    pub identity: IdentityId,
    pub node: &'a str,
    pub namespace: &'a str,
    pub pod: &'a str,
}

impl EndpointTable {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Stores `endpoint` with `mark`; whether its content changed.
    pub(super) fn upsert(&mut self, endpoint: Endpoint, mark: u32) -> bool {
        let Endpoint {
            cluster,
            ip,
            identity,
            node,
            namespace,
            pod,
        } = endpoint;
        let entries = self.by_cluster.entry(cluster).or_default();
        if let Some(held) = entries.get_mut(&ip) {
            held.mark = mark;
            if held.identity == identity
                && *held.node == *node.as_str()
                && *held.namespace == *namespace.as_str()
                && *held.pod == *pod.as_str()
            {
                return false;
            }
        }
        let entry = Entry {
            identity,
            mark,
            node: intern(&mut self.names, node.as_str()),
            namespace: intern(&mut self.names, namespace.as_str()),
            pod: pod.into_string().into_boxed_str(),
        };
        match entries.insert(ip, entry) {
            Some(old) => release(&mut self.names, old),
            None => self.len += 1,
        }
        true
    }

    /// Removes the endpoint at `ip` of `cluster`; whether there was one.
    pub(super) fn remove(&mut self, cluster: &ClusterName, ip: IpAddr) -> bool {
        let Some(entries) = self.by_cluster.get_mut(cluster) else {
            return false;
        };
        let Some(old) = entries.remove(&ip) else {
            return false;
        };
        if entries.is_empty() {
            self.by_cluster.remove(cluster);
        }
        self.len -= 1;
        release(&mut self.names, old);
        true
    }

    /// Drops every entry whose mark is not `mark` (not sent in the snapshot that just
    /// ended); whether any was dropped.
    pub(super) fn sweep(&mut self, mark: u32) -> bool {
        let before = self.len;
        for entries in self.by_cluster.values_mut() {
            entries.retain(|_, entry| entry.mark == mark);
        }
        self.by_cluster.retain(|_, entries| !entries.is_empty());
        self.len = self.by_cluster.values().map(BTreeMap::len).sum();
        if self.len == before {
            return false;
        }
        // Names only the set still holds belonged to dropped entries.
        self.names.retain(|name| Arc::strong_count(name) > 1);
        true
    }

    /// Every endpoint, by cluster, then IP.
    pub(super) fn iter(&self) -> impl Iterator<Item = EndpointRef<'_>> {
        self.by_cluster.iter().flat_map(|(cluster, entries)| {
            entries.iter().map(move |(ip, e)| EndpointRef {
                cluster,
                ip: *ip,
                identity: e.identity,
                node: &e.node,
                namespace: &e.namespace,
                pod: &e.pod,
            })
        })
    }

    pub(super) fn contains(&self, cluster: &ClusterName, ip: IpAddr) -> bool {
        self.by_cluster
            .get(cluster)
            .is_some_and(|entries| entries.contains_key(&ip))
    }
}

fn intern(names: &mut HashSet<Arc<str>>, name: &str) -> Arc<str> {
    if let Some(held) = names.get(name) {
        return held.clone();
    }
    let name: Arc<str> = Arc::from(name);
    names.insert(name.clone());
    name
}

/// Forgets the names `old` was the last user of (only the set's copy and `old`'s are
/// left).
fn release(names: &mut HashSet<Arc<str>>, old: Entry) {
    for name in [old.node, old.namespace] {
        if Arc::strong_count(&name) == 2 {
            names.remove(&*name);
        }
    }
}

#[cfg(test)]
mod tests;
