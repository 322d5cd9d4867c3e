//! Garbage collection of identities whose label set is no longer in use.

use std::collections::{BTreeSet, HashSet};
use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use clustermesh_proto::IdentityId;

use super::{AllocError, IdentityAllocator};
use crate::export::identities::LabelSet;
use crate::store::{Cas, CasAction, CasOutcome, KeyValue};

/// What one pass decided to remove, collected under the lock and acted on after it.
#[derive(Default)]
struct Due {
    /// `by-labels` entries unused for longer than the grace, with their id if readable.
    labels: Vec<(KeyValue, String, Option<NonZeroU16>)>,
    /// `by-id` claims no `by-labels` entry points to (an allocator crashed mid-way).
    orphans: Vec<KeyValue>,
}

impl IdentityAllocator {
    /// Removes the allocations of label sets not in `in_use` for at least `grace`, and
    /// returns the ids freed. Call it periodically with every label set in use
    /// ([`crate::export::identities::in_use`]); the first pass that sees a set unused
    /// starts its grace period.
    pub async fn gc(
        &self,
        in_use: &BTreeSet<LabelSet>,
        grace: Duration,
    ) -> Result<Vec<IdentityId>, AllocError> {
        self.gc_at(in_use, grace, Instant::now()).await
    }

    /// [`IdentityAllocator::gc`] with an explicit clock, for tests.
    pub async fn gc_at(
        &self,
        in_use: &BTreeSet<LabelSet>,
        grace: Duration,
        now: Instant,
    ) -> Result<Vec<IdentityId>, AllocError> {
        let live: HashSet<String> = in_use.iter().map(LabelSet::canonical).collect();
        let labels = self.store.list(&self.keys.by_labels_prefix()).await?.items;
        let claims = self.store.list(&self.keys.by_id_prefix()).await?.items;
        let due = self.due(&live, &labels, &claims, grace, now);

        let mut freed = Vec::new();
        for (kv, canonical, local) in due.labels {
            // Compare-and-swap so an entry rewritten since we listed it survives.
            if !self.delete_if_unchanged(&kv).await? {
                continue;
            }
            self.unused_since().remove(&canonical);
            let Some(local) = local else { continue };
            // Free the id only if its claim is still ours: never another set's claim.
            if let Some(claim) = self.store.get(&self.keys.by_id(local)).await?
                && claim.value.as_ref() == canonical.as_bytes()
            {
                self.delete_if_unchanged(&claim).await?;
            }
            freed.push(IdentityId::new(self.cluster_id, local));
        }
        for kv in due.orphans {
            if self.delete_if_unchanged(&kv).await? {
                self.unused_since().remove(&kv.key);
            }
        }
        Ok(freed)
    }

    /// Updates the unused-since bookkeeping from one listing and picks what is due.
    fn due(
        &self,
        live: &HashSet<String>,
        labels: &[KeyValue],
        claims: &[KeyValue],
        grace: Duration,
        now: Instant,
    ) -> Due {
        let mut unused = self.unused_since();
        let mut seen = HashSet::new();
        let mut referenced = HashSet::new();
        let mut due = Due::default();
        for kv in labels {
            let Some(canonical) = self.keys.canonical_of(&kv.key) else {
                continue;
            };
            let local = self.local_of(kv).ok();
            referenced.extend(local);
            if live.contains(canonical) {
                continue;
            }
            seen.insert(canonical.to_owned());
            let since = *unused.entry(canonical.to_owned()).or_insert(now);
            if now.saturating_duration_since(since) >= grace {
                due.labels.push((kv.clone(), canonical.to_owned(), local));
            }
        }
        for kv in claims {
            let Some(local) = self.keys.id_from_by_id_key(&kv.key) else {
                continue;
            };
            if referenced.contains(&local) {
                continue;
            }
            // Tracked by full key, which cannot collide with a canonical label set (those
            // have a `;` before any `/`). An orphan must also have been seen by an
            // earlier pass, so a claim whose allocation is still in flight survives even
            // a zero grace.
            seen.insert(kv.key.clone());
            let earlier = unused.get(&kv.key).copied();
            unused.entry(kv.key.clone()).or_insert(now);
            if earlier.is_some_and(|since| now.saturating_duration_since(since) >= grace) {
                due.orphans.push(kv.clone());
            }
        }
        // Forget sets that are in use again or gone from the store.
        unused.retain(|key, _| seen.contains(key));
        due
    }

    async fn delete_if_unchanged(&self, kv: &KeyValue) -> Result<bool, AllocError> {
        let cas = Cas {
            key: kv.key.clone(),
            expected_mod_revision: Some(kv.mod_revision),
            action: CasAction::Delete,
        };
        let outcome = self.store.compare_and_swap(cas).await?;
        Ok(matches!(outcome, CasOutcome::Swapped { .. }))
    }
}
