//! The replicated key-value store every apiserver writes its exports into.
//!
//! One trait, [`Store`], with etcd's semantics (a single revision counter, prefix
//! watches that resume after a revision, leases, compare-and-swap) and three
//! implementations that pass one conformance suite: [`memory`], [`raft`] (the embedded
//! default) and [`etcd`].

mod checks;
mod error;
mod kv_state;
mod lease_clock;
mod types;
mod watch_channel;
mod watch_hub;

pub mod etcd;
pub mod memory;
pub mod raft;

#[cfg(any(test, feature = "test-util"))]
pub mod conformance;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use error::StoreError;
pub use kv_state::{Command, CommandResponse, KvSnapshot, KvState, KvStateConfig};
pub use types::{
    Cas, CasAction, CasOutcome, DeleteOutcome, Event, KeyValue, LeaseId, ListResult, Revision,
    WatchResponse, WatchStream, WriteOp,
};
pub use watch_channel::DEFAULT_WATCH_BUFFER_EVENTS;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// `ops` in batches of at most `max` (a backend's [`Store::max_batch_ops`]), moved
/// rather than copied: a first export is a million of them.
pub fn in_batches(ops: Vec<WriteOp>, max: usize) -> impl Iterator<Item = Vec<WriteOp>> {
    let max = max.max(1);
    let mut ops = ops.into_iter();
    std::iter::from_fn(move || {
        let batch: Vec<WriteOp> = ops.by_ref().take(max).collect();
        (!batch.is_empty()).then_some(batch)
    })
}

/// A revisioned key-value store with prefix watches and leases.
///
/// Every successful write advances the store's single revision by exactly one, however
/// many keys it touches; a write that changes nothing (deleting an absent key) does not.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A human-readable name of the backend, for logs and benchmark reports.
    fn backend(&self) -> &'static str;

    /// The largest number of operations one [`Store::write_batch`] accepts.
    fn max_batch_ops(&self) -> usize;

    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Writes `value` at `key`, bound to `lease` if given, and returns the new revision.
    async fn put(&self, key: &str, value: Bytes, lease: Option<LeaseId>) -> Result<Revision>;

    async fn delete(&self, key: &str) -> Result<DeleteOutcome>;

    async fn delete_prefix(&self, prefix: &str) -> Result<DeleteOutcome>;

    /// Applies all operations atomically at one revision.
    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Revision>;

    /// Applies `cas.action` only if the key's mod revision is still the expected one.
    async fn compare_and_swap(&self, cas: Cas) -> Result<CasOutcome>;

    /// Every key under `prefix`, in key order, and the revision they were read at.
    async fn list(&self, prefix: &str) -> Result<ListResult>;

    /// Every change under `prefix` with a revision greater than `after`, in revision
    /// order. If `after` is older than the compaction point the stream yields
    /// [`StoreError::Compacted`] and ends: the caller relists. A watcher that does not keep
    /// up is cut with [`StoreError::WatchLagged`], naming the revision to resume after.
    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId>;

    /// Restarts the lease's TTL. Fails with [`StoreError::LeaseNotFound`] once it expired.
    async fn keep_alive(&self, lease: LeaseId) -> Result<()>;

    /// Ends the lease now and deletes every key bound to it.
    async fn revoke_lease(&self, lease: LeaseId) -> Result<()>;

    /// Forgets history at and before `revision`; watches from there get `Compacted`.
    async fn compact(&self, revision: Revision) -> Result<()>;
}
