//! Allocation of identity ids in the store, safe across apiserver replicas.
//!
//! Key layout, all under `<cluster>/identity-alloc/`:
//! - `by-labels/<canonical label set>` → the local id, decimal. Looked up first, so an id
//!   once allocated for a label set is reused by every replica and after restarts.
//! - `by-id/<local id>` → the canonical label set. The *claim* on an id: it is created
//!   with compare-and-swap "must not exist", so two allocators can never both own one id
//!   however they race.
//! - `next` → the local id to try first, decimal. Only a hint that keeps allocation
//!   cheap; it is advanced with compare-and-swap and a lost race is harmless, because
//!   uniqueness comes from `by-id`.
//!
//! Allocation claims `by-id` first and only then creates `by-labels`; if another
//! allocator created `by-labels` for the same set meanwhile, its id is used and our claim
//! released. A crash between the two steps leaves an orphan claim, which [`gc`] removes.
//!
//! **GC bookkeeping.** When a label set was last seen in use is kept in memory, not in
//! the store: recording it in the store would rewrite every live identity on every GC
//! pass. The cost is that a restart forgets when sets went unused, so their grace period
//! starts over: GC only ever runs late, never early. GC must run on the one replica that
//! runs the exporter, with the complete set of label sets in use.
//!
//! [`gc`]: IdentityAllocator::gc

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use clustermesh_proto::{ClusterId, ClusterName, IdentityId};

use super::identities::LabelSet;
use crate::store::{Cas, CasAction, CasOutcome, KeyValue, Store, StoreError};

mod bulk;
mod gc;
mod keys;

use keys::Keys;

/// Rounds of "look up, claim, publish" before giving up; each lost round means another
/// allocator or the GC changed the same key, which does not happen repeatedly.
const ATTEMPTS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum AllocError {
    // The cause is the source, not part of this message, so reporters that walk the
    // chain do not print it twice.
    #[error("identity store request failed")]
    Store(#[from] StoreError),
    #[error("all 65535 identity ids of cluster {cluster} are allocated")]
    Exhausted { cluster: ClusterName },
    #[error("identity of {set:?} kept changing under us; gave up after {ATTEMPTS} attempts")]
    Contended { set: String },
    #[error("identity store key {key:?} holds {value:?}, not a local identity id")]
    Corrupt { key: String, value: String },
}

/// Allocates identity ids of one cluster. Cheap to share behind an `Arc`.
pub struct IdentityAllocator {
    store: Arc<dyn Store>,
    cluster_id: ClusterId,
    keys: Keys,
    /// Canonical label set (or `by-id/<n>` for an orphan claim) → first seen unused.
    unused_since: Mutex<HashMap<String, Instant>>,
}

impl IdentityAllocator {
    pub fn new(store: Arc<dyn Store>, cluster: ClusterName, cluster_id: ClusterId) -> Self {
        Self {
            store,
            cluster_id,
            keys: Keys::new(cluster),
            unused_since: Mutex::new(HashMap::new()),
        }
    }

    /// The id of `set`: the existing one, or a newly claimed one.
    pub async fn allocate(&self, set: &LabelSet) -> Result<IdentityId, AllocError> {
        let canonical = set.canonical();
        let labels_key = self.keys.by_labels(&canonical);
        for _ in 0..ATTEMPTS {
            if let Some(kv) = self.store.get(&labels_key).await? {
                return self.id_of(&kv);
            }
            let (local, claim_rev) = self.claim(&canonical).await?;
            let create = Cas::create(labels_key.clone(), local.to_string());
            match self.store.compare_and_swap(create).await? {
                CasOutcome::Swapped { .. } => return Ok(IdentityId::new(self.cluster_id, local)),
                // Another allocator won the race for this set: use its id, free ours.
                CasOutcome::Conflict { current } => {
                    self.release(local, claim_rev).await?;
                    if let Some(kv) = current {
                        return self.id_of(&kv);
                    }
                    // Created and collected in between: start over.
                }
            }
        }
        Err(AllocError::Contended { set: canonical })
    }

    /// Claims a free local id for `canonical`, returning it and the claim's revision.
    async fn claim(&self, canonical: &str) -> Result<(NonZeroU16, i64), AllocError> {
        let hint_kv = self.store.get(&self.keys.next()).await?;
        // A hint that does not parse is only a lost optimisation: start at 1, and the
        // compare-and-swap in `advance_hint` overwrites it.
        let hint = hint_kv
            .as_ref()
            .and_then(|kv| self.local_of(kv).ok())
            .unwrap_or(NonZeroU16::MIN);
        let mut taken: Option<BTreeSet<u16>> = None;
        for local in keys::candidates(hint) {
            if taken.as_ref().is_some_and(|t| t.contains(&local.get())) {
                continue;
            }
            let cas = Cas::create(self.keys.by_id(local), canonical.to_owned());
            match self.store.compare_and_swap(cas).await? {
                CasOutcome::Swapped { revision } => {
                    self.advance_hint(hint_kv.as_ref(), local).await?;
                    return Ok((local, revision));
                }
                // The hint is stale: learn every taken id once rather than probing
                // them one round trip at a time.
                CasOutcome::Conflict { .. } if taken.is_none() => {
                    taken = Some(self.taken_ids().await?);
                }
                CasOutcome::Conflict { .. } => {}
            }
        }
        Err(AllocError::Exhausted {
            cluster: self.keys.cluster().clone(),
        })
    }

    async fn taken_ids(&self) -> Result<BTreeSet<u16>, AllocError> {
        let list = self.store.list(&self.keys.by_id_prefix()).await?;
        Ok(list
            .items
            .iter()
            .filter_map(|kv| self.keys.id_from_by_id_key(&kv.key))
            .map(NonZeroU16::get)
            .collect())
    }

    /// Best effort: a conflict means someone else moved the hint on, which is fine.
    async fn advance_hint(
        &self,
        read: Option<&KeyValue>,
        claimed: NonZeroU16,
    ) -> Result<(), AllocError> {
        let cas = Cas {
            key: self.keys.next(),
            expected_mod_revision: read.map(|kv| kv.mod_revision),
            action: CasAction::Put {
                value: Bytes::from(keys::after(claimed).to_string()),
                lease: None,
            },
        };
        self.store.compare_and_swap(cas).await?;
        Ok(())
    }

    async fn release(&self, local: NonZeroU16, claim_rev: i64) -> Result<(), AllocError> {
        let cas = Cas {
            key: self.keys.by_id(local),
            expected_mod_revision: Some(claim_rev),
            action: CasAction::Delete,
        };
        self.store.compare_and_swap(cas).await?;
        Ok(())
    }

    fn local_of(&self, kv: &KeyValue) -> Result<NonZeroU16, AllocError> {
        std::str::from_utf8(&kv.value)
            .ok()
            .and_then(|s| s.parse::<NonZeroU16>().ok())
            .ok_or_else(|| AllocError::Corrupt {
                key: kv.key.clone(),
                value: String::from_utf8_lossy(&kv.value).into_owned(),
            })
    }

    fn id_of(&self, kv: &KeyValue) -> Result<IdentityId, AllocError> {
        self.local_of(kv)
            .map(|local| IdentityId::new(self.cluster_id, local))
    }

    fn unused_since(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // The map holds only timestamps; a panic elsewhere cannot leave it inconsistent.
        self.unused_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
