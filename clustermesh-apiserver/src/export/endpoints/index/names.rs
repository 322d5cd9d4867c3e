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

impl Names {
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
