//! Allocation of many label sets at once, as a cluster's first export needs.
//!
//! One at a time, a new identity costs two reads and three compare-and-swaps in a row,
//! each a replicated, fsynced write: a thousand new sets took seconds. Here each key
//! family is listed once, free ids are picked locally, and every claim, then every
//! publication, is in flight together; the raft store's group commit packs concurrent
//! writes into one log entry. The safety argument is the single path's: an id belongs
//! to whoever created its `by-id` claim, and a set to whoever created its `by-labels`
//! entry. Whatever loses a race here goes through [`IdentityAllocator::allocate`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::num::NonZeroU16;

use clustermesh_proto::IdentityId;
use futures::{StreamExt, stream};

use super::{AllocError, IdentityAllocator, keys};
use crate::export::identities::LabelSet;
use crate::store::{Cas, CasOutcome, Revision, StoreError};

/// Writes in flight at once: enough to fill a group commit, few enough that a backend
/// without one (etcd) is not flooded.
const IN_FLIGHT: usize = 256;

impl IdentityAllocator {
    /// The ids of all `sets`, existing or newly claimed. Stops at the first store error:
    /// the caller retries, and ids already allocated are found again. A claim made before
    /// such an error and never published is an orphan, which [`Self::gc`] removes.
    pub async fn allocate_many(
        &self,
        sets: &BTreeSet<LabelSet>,
    ) -> Result<BTreeMap<LabelSet, IdentityId>, AllocError> {
        if sets.len() <= 1 {
            let mut out = BTreeMap::new();
            for set in sets {
                out.insert(set.clone(), self.allocate(set).await?);
            }
            return Ok(out);
        }
        let mut out = BTreeMap::new();
        let published = self.published().await?;
        let mut missing = Vec::new();
        for set in sets {
            match published.get(&set.canonical()) {
                Some(kv) => {
                    out.insert(set.clone(), self.id_of(kv)?);
                }
                None => missing.push(set),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let (claimed, lost) = self.claim_many(&missing).await?;
        let (won, mut lost_too) = self.publish_many(claimed).await?;
        out.extend(won);
        lost_too.extend(lost);
        for set in lost_too {
            out.insert(set.clone(), self.allocate(set).await?);
        }
        Ok(out)
    }

    /// Every `by-labels` entry, by canonical label set.
    async fn published(&self) -> Result<HashMap<String, crate::store::KeyValue>, AllocError> {
        let list = self.store.list(&self.keys.by_labels_prefix()).await?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|kv| Some((self.keys.canonical_of(&kv.key)?.to_owned(), kv)))
            .collect())
    }

    /// Every compare-and-swap, [`IN_FLIGHT`] at a time, with its outcome in order.
    async fn swap_all(&self, swaps: Vec<Cas>) -> Vec<Result<CasOutcome, StoreError>> {
        stream::iter(swaps)
            .map(|cas| self.store.compare_and_swap(cas))
            .buffered(IN_FLIGHT)
            .collect()
            .await
    }

    /// Claims a free id for each set: the claimed ones with their id and claim revision,
    /// and the sets whose claim someone else's won.
    async fn claim_many<'s>(
        &self,
        sets: &[&'s LabelSet],
    ) -> Result<(Vec<(&'s LabelSet, NonZeroU16, Revision)>, Vec<&'s LabelSet>), AllocError> {
        let hint_kv = self.store.get(&self.keys.next()).await?;
        let hint = hint_kv
            .as_ref()
            .and_then(|kv| self.local_of(kv).ok())
            .unwrap_or(NonZeroU16::MIN);
        let taken: BTreeSet<u16> = self.taken_ids().await?;
        let free: Vec<NonZeroU16> = keys::candidates(hint)
            .filter(|local| !taken.contains(&local.get()))
            .take(sets.len())
            .collect();
        if free.len() < sets.len() {
            return Err(AllocError::Exhausted {
                cluster: self.keys.cluster().clone(),
            });
        }
        let claims = (sets.iter().zip(&free))
            .map(|(set, local)| Cas::create(self.keys.by_id(*local), set.canonical()));
        let outcomes = self.swap_all(claims.collect()).await;
        let (mut claimed, mut lost) = (Vec::new(), Vec::new());
        for ((set, local), outcome) in sets.iter().zip(&free).zip(outcomes) {
            match outcome? {
                CasOutcome::Swapped { revision } => claimed.push((*set, *local, revision)),
                CasOutcome::Conflict { .. } => lost.push(*set),
            }
        }
        if let Some(last) = free.last() {
            self.advance_hint(hint_kv.as_ref(), *last).await?;
        }
        Ok((claimed, lost))
    }

    /// Publishes each claim under its label set; a set another allocator published
    /// meanwhile keeps that allocator's id, and our claim is released.
    async fn publish_many<'s>(
        &self,
        claimed: Vec<(&'s LabelSet, NonZeroU16, Revision)>,
    ) -> Result<(Vec<(LabelSet, IdentityId)>, Vec<&'s LabelSet>), AllocError> {
        let entries = (claimed.iter()).map(|(set, local, _)| {
            Cas::create(self.keys.by_labels(&set.canonical()), local.to_string())
        });
        let outcomes = self.swap_all(entries.collect()).await;
        let (mut won, mut retry) = (Vec::new(), Vec::new());
        for ((set, local, claim_rev), outcome) in claimed.into_iter().zip(outcomes) {
            match outcome? {
                CasOutcome::Swapped { .. } => {
                    won.push((set.clone(), IdentityId::new(self.cluster_id, local)));
                }
                CasOutcome::Conflict { current } => {
                    self.release(local, claim_rev).await?;
                    match current {
                        Some(kv) => won.push((set.clone(), self.id_of(&kv)?)),
                        // Created and collected in between: start over.
                        None => retry.push(set),
                    }
                }
            }
        }
        Ok((won, retry))
    }
}
