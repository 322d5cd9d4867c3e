//! Remote endpoints, held the way a dataplane reads them: per cluster, IP → identity,
//! node, namespace and pod. At a million endpoints the view is most of the agent's
//! memory, so an entry is kept small: node and namespace names are numbers into one
//! shared copy of each (`names`), IPv4 addresses are keyed by their four bytes, the
//! pod name is an exact-size box, and snapshot bookkeeping is a mark on the entry
//! instead of a set of keys seen (`MergedView::prune`).

mod addresses;
mod names;

use std::{collections::BTreeMap, net::IpAddr};

use clustermesh_proto::{ClusterName, Endpoint, IdentityId};

use self::{
    addresses::Addresses,
    names::{NameId, Names},
};

#[derive(Debug, Default)]
pub(super) struct EndpointTable {
    by_cluster: BTreeMap<ClusterName, Addresses<Entry>>,
    names: Names,
    len: usize,
}

/// 32 bytes, against 56 with shared `Arc<str>` names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    identity: IdentityId,
    /// The snapshot number current when the entry was last sent.
    mark: u32,
    node: NameId,
    namespace: NameId,
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
        if let Some(held) = entries.get_mut(ip) {
            held.mark = mark;
            if held.identity == identity
                && self.names.get(held.node) == node.as_str()
                && self.names.get(held.namespace) == namespace.as_str()
                && *held.pod == *pod.as_str()
            {
                return false;
            }
        }
        let entry = Entry {
            identity,
            mark,
            node: self.names.acquire(node.as_str()),
            namespace: self.names.acquire(namespace.as_str()),
            pod: pod.into_string().into_boxed_str(),
        };
        match entries.insert(ip, entry) {
            Some(old) => old.release_names(&mut self.names),
            None => self.len += 1,
        }
        true
    }

    /// Removes the endpoint at `ip` of `cluster`; whether there was one.
    pub(super) fn remove(&mut self, cluster: &ClusterName, ip: IpAddr) -> bool {
        let Some(entries) = self.by_cluster.get_mut(cluster) else {
            return false;
        };
        let Some(old) = entries.remove(ip) else {
            return false;
        };
        if entries.is_empty() {
            self.by_cluster.remove(cluster);
        }
        self.len -= 1;
        old.release_names(&mut self.names);
        true
    }

    /// Drops every entry whose mark is not `mark` (not sent in the snapshot that just
    /// ended); whether any was dropped.
    pub(super) fn sweep(&mut self, mark: u32) -> bool {
        let before = self.len;
        let names = &mut self.names;
        for entries in self.by_cluster.values_mut() {
            entries.retain(|entry| {
                let keep = entry.mark == mark;
                if !keep {
                    entry.release_names(names);
                }
                keep
            });
        }
        self.by_cluster.retain(|_, entries| !entries.is_empty());
        self.len = self.by_cluster.values().map(Addresses::len).sum();
        self.len != before
    }

    /// Every endpoint, by cluster, then IP.
    pub(super) fn iter(&self) -> impl Iterator<Item = EndpointRef<'_>> {
        let names = &self.names;
        self.by_cluster.iter().flat_map(move |(cluster, entries)| {
            entries.iter().map(move |(ip, e)| EndpointRef {
                cluster,
                ip,
                identity: e.identity,
                node: names.get(e.node),
                namespace: names.get(e.namespace),
                pod: &e.pod,
            })
        })
    }

    pub(super) fn contains(&self, cluster: &ClusterName, ip: IpAddr) -> bool {
        self.by_cluster
            .get(cluster)
            .is_some_and(|entries| entries.contains(ip))
    }
}

impl Entry {
    fn release_names(&self, names: &mut Names) {
        names.release(self.node);
        names.release(self.namespace);
    }
}

#[cfg(test)]
mod tests;
