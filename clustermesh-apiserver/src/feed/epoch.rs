//! The store's epoch: a random name written once into a fresh store. Revisions are only
//! comparable within one epoch; a store wiped and recreated (or an in-memory store after
//! a restart) starts over at revision 1 under a new epoch.

use rand::Rng;

use crate::layout::EPOCH_KEY;
use crate::store::{Cas, CasOutcome, Store, StoreError};

/// Reads the store's epoch, creating it if the store has none.
pub async fn ensure(store: &dyn Store) -> Result<String, StoreError> {
    // Two racing replicas both fall through to the read after a conflict.
    for _ in 0..3 {
        if let Some(kv) = store.get(EPOCH_KEY).await? {
            return String::from_utf8(kv.value.to_vec()).map_err(|_| {
                StoreError::Backend(format!("{EPOCH_KEY} holds a value that is not UTF-8"))
            });
        }
        let fresh = format!("{:016x}", rand::rng().random::<u64>());
        let create = Cas::create(EPOCH_KEY, fresh.clone());
        if let CasOutcome::Swapped { .. } = store.compare_and_swap(create).await? {
            return Ok(fresh);
        }
    }
    Err(StoreError::Backend(format!(
        "{EPOCH_KEY} kept changing while being created"
    )))
}
