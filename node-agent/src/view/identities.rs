//! Remote identities, per cluster, id → namespace and labels. A cluster exports one
//! per distinct label set, so there are as many as it has services, and each is kept
//! small: the domain `Identity` holds its labels in a `BTreeMap`, whose first leaf is
//! half a KiB however few labels there are; here they are one exact-size slice. Like
//! endpoints, snapshot bookkeeping is a mark on the entry (`MergedView::prune`).

use std::collections::BTreeMap;

use clustermesh_proto::{ClusterName, Identity, IdentityId};

#[derive(Debug, Default)]
pub(super) struct IdentityTable {
    by_cluster: BTreeMap<ClusterName, BTreeMap<IdentityId, Entry>>,
    len: usize,
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// The snapshot number current when the entry was last sent.
    mark: u32,
    namespace: Box<str>,
    /// Sorted by key, as they came out of the record's map.
    labels: Box<[(Box<str>, Box<str>)]>,
}

/// One identity as the view holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityRef<'a> {
    pub cluster: &'a ClusterName,
    pub id: IdentityId,
    pub namespace: &'a str,
    /// Key and value, sorted by key.
    pub labels: &'a [(Box<str>, Box<str>)],
}

impl IdentityTable {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Stores `identity` with `mark`; whether its content changed.
    pub(super) fn upsert(&mut self, identity: Identity, mark: u32) -> bool {
        let entries = self.by_cluster.entry(identity.cluster).or_default();
        if let Some(held) = entries.get_mut(&identity.id) {
            held.mark = mark;
            if *held.namespace == *identity.namespace.as_str()
                && held.labels.len() == identity.labels.len()
                && held
                    .labels
                    .iter()
                    .zip(&identity.labels)
                    .all(|((k, v), (key, value))| **k == **key && **v == **value)
            {
                return false;
            }
        }
        let entry = Entry {
            mark,
            namespace: identity.namespace.as_str().into(),
            labels: (identity.labels.into_iter())
                .map(|(key, value)| (key.into_boxed_str(), value.into_boxed_str()))
                .collect(),
        };
        if entries.insert(identity.id, entry).is_none() {
            self.len += 1;
        }
        true
    }

    /// Removes identity `id` of `cluster`; whether there was one.
    pub(super) fn remove(&mut self, cluster: &ClusterName, id: IdentityId) -> bool {
        let Some(entries) = self.by_cluster.get_mut(cluster) else {
            return false;
        };
        if entries.remove(&id).is_none() {
            return false;
        }
        if entries.is_empty() {
            self.by_cluster.remove(cluster);
        }
        self.len -= 1;
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
        self.len != before
    }

    /// Every identity, by cluster, then id.
    pub(super) fn iter(&self) -> impl Iterator<Item = IdentityRef<'_>> {
        self.by_cluster.iter().flat_map(|(cluster, entries)| {
            entries.iter().map(move |(id, e)| IdentityRef {
                cluster,
                id: *id,
                namespace: &e.namespace,
                labels: &e.labels,
            })
        })
    }
}

#[cfg(test)]
mod tests;
