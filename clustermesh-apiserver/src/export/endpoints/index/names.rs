//! Namespace and node names, validated once and shared: a cluster has a few hundred of
//! each and a million pods naming them.

use std::collections::HashMap;
use std::sync::Arc;

use clustermesh_proto::{DnsLabel, DnsSubdomain};

/// Looked up once or twice per pod: a fast hash, not a DoS-resistant one, as the
/// names come from the cluster's own API.
type Table<T> = HashMap<String, Option<Arc<T>>, foldhash::fast::RandomState>;

#[derive(Default)]
pub(super) struct Names {
    namespaces: Table<DnsLabel>,
    nodes: Table<DnsSubdomain>,
    /// Entries after the last prune; the tables are pruned when they double.
    kept: usize,
}

/// A merged part's names, by address, to the merged tables' own.
#[derive(Default)]
pub(super) struct NameRemap {
    namespaces: HashMap<*const DnsLabel, Arc<DnsLabel>, foldhash::fast::RandomState>,
    nodes: HashMap<*const DnsSubdomain, Arc<DnsSubdomain>, foldhash::fast::RandomState>,
}

impl NameRemap {
    /// The merged tables' namespace for a part's, if it is another.
    pub fn namespace(&self, name: &Arc<DnsLabel>) -> Option<Arc<DnsLabel>> {
        self.namespaces.get(&Arc::as_ptr(name)).cloned()
    }

    /// The merged tables' node name for a part's, if it is another.
    pub fn node(&self, name: &Arc<DnsSubdomain>) -> Option<Arc<DnsSubdomain>> {
        self.nodes.get(&Arc::as_ptr(name)).cloned()
    }
}

impl Names {
    /// Takes in `other`'s names. Where both hold a name, this one's is kept; the result
    /// maps each of `other`'s that was replaced to the one kept.
    pub fn absorb(&mut self, other: Names) -> NameRemap {
        NameRemap {
            namespaces: merge(&mut self.namespaces, other.namespaces),
            nodes: merge(&mut self.nodes, other.nodes),
        }
    }

    /// `None` when `name` is not a valid namespace.
    pub fn namespace(&mut self, name: &str) -> Option<Arc<DnsLabel>> {
        intern(&mut self.namespaces, name, DnsLabel::new)
    }

    /// `None` when `name` is not a valid node name.
    pub fn node(&mut self, name: &str) -> Option<Arc<DnsSubdomain>> {
        intern(&mut self.nodes, name, DnsSubdomain::new)
    }

    /// Forgets names nothing refers to any more, once the tables have doubled since the
    /// last time: nodes and namespaces come and go over a cluster's life.
    pub fn prune(&mut self) {
        let len = self.namespaces.len() + self.nodes.len();
        if len < 2 * self.kept + 64 {
            return;
        }
        self.namespaces
            .retain(|_, n| n.as_ref().is_some_and(|n| Arc::strong_count(n) > 1));
        self.nodes
            .retain(|_, n| n.as_ref().is_some_and(|n| Arc::strong_count(n) > 1));
        self.kept = self.namespaces.len() + self.nodes.len();
    }
}

fn intern<T, E>(
    table: &mut Table<T>,
    name: &str,
    validate: impl Fn(String) -> Result<T, E>,
) -> Option<Arc<T>> {
    if let Some(known) = table.get(name) {
        return known.clone();
    }
    let valid = validate(name.to_owned()).ok().map(Arc::new);
    table.insert(name.to_owned(), valid.clone());
    valid
}

fn merge<T>(
    table: &mut Table<T>,
    other: Table<T>,
) -> HashMap<*const T, Arc<T>, foldhash::fast::RandomState> {
    let mut remap = HashMap::default();
    for (name, theirs) in other {
        let kept = table.entry(name).or_insert_with(|| theirs.clone());
        if let (Some(kept), Some(theirs)) = (kept, theirs)
            && !Arc::ptr_eq(kept, &theirs)
        {
            remap.insert(Arc::as_ptr(&theirs), Arc::clone(kept));
        }
    }
    remap
}
