//! Identity ids for the label sets in use, allocated once and remembered, so a round
//! costs store requests only for label sets it has not seen before.

use std::collections::{BTreeSet, HashMap};

use clustermesh_proto::IdentityId;

use crate::export::{AllocError, IdentityAllocator, LabelSet};

#[derive(Default)]
pub(super) struct IdentityCache {
    ids: HashMap<LabelSet, IdentityId>,
}

impl IdentityCache {
    /// Makes sure every set in `in_use` has an id.
    pub async fn allocate(
        &mut self,
        allocator: &IdentityAllocator,
        in_use: impl IntoIterator<Item = &LabelSet>,
    ) -> Result<(), AllocError> {
        let missing: BTreeSet<LabelSet> = in_use
            .into_iter()
            .filter(|set| !self.ids.contains_key(*set))
            .cloned()
            .collect();
        if !missing.is_empty() {
            self.ids.extend(allocator.allocate_many(&missing).await?);
        }
        Ok(())
    }

    pub fn get(&self, set: &LabelSet) -> Option<IdentityId> {
        self.ids.get(set).copied()
    }

    /// Frees identities unused for longer than `grace`, and forgets them here too, so a
    /// label set that comes back later is allocated afresh rather than given a freed id.
    pub async fn collect(
        &mut self,
        allocator: &IdentityAllocator,
        in_use: &BTreeSet<LabelSet>,
        grace: std::time::Duration,
    ) -> Result<usize, AllocError> {
        let freed = allocator.gc(in_use, grace).await?;
        self.ids.retain(|_, id| !freed.contains(id));
        Ok(freed.len())
    }
}
