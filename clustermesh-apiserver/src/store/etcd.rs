//! The etcd backend: for operators who already run etcd, or outgrow the embedded store.
//!
//! The trait was modelled on etcd, so most calls are one etcd request: writes and
//! batches are (conditional) transactions at one revision, `list` reads pages at one
//! pinned revision, and every `watch` is an etcd watch whose events a task forwards into
//! the same bounded channel as the other backends. Differences from the memory backend
//! that etcd imposes are documented where they arise: lease TTL granularity
//! (`etcd/lease.rs`), the order of batch checks (`etcd/kv.rs`), and one compaction edge
//! case (`etcd/watch.rs`).

mod config;
mod error;
mod keys;
mod kv;
mod lease;
mod list;
mod watch;

#[cfg(test)]
mod tests;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{Client, GetOptions, KvClient, LeaseClient, WatchClient};

pub use config::{DEFAULT_LIST_PAGE_KEYS, DEFAULT_MAX_BATCH_OPS, EtcdStoreConfig, EtcdTlsConfig};

use self::error::call;
use self::keys::Keyspace;
use super::{
    Cas, CasOutcome, DeleteOutcome, KeyValue, LeaseId, ListResult, Result, Revision, Store,
    StoreError, WatchStream, WriteOp,
};

/// A [`Store`] on an etcd v3 cluster.
pub struct EtcdStore {
    kv: KvClient,
    watch: WatchClient,
    lease: LeaseClient,
    keys: Keyspace,
    config: EtcdStoreConfig,
}

impl EtcdStore {
    /// Connects and proves the cluster answers with one read, so a wrong endpoint or a
    /// cluster without quorum fails here as `Unavailable` (retry) rather than on first use.
    pub async fn connect(config: EtcdStoreConfig) -> Result<Self> {
        config.validate()?;
        let options = config.connect_options().await?;
        let connect = Client::connect(&config.endpoints, Some(options));
        let client = call(config.connect_timeout, connect).await?;
        let watch = client
            .watch_client()
            .max_decoding_message_size(watch::WATCH_MAX_MESSAGE_BYTES);
        let store = EtcdStore {
            kv: client.kv_client(),
            watch,
            lease: client.lease_client(),
            keys: Keyspace::new(&config.key_prefix),
            config,
        };
        let mut kv = store.kv.clone();
        // A linearizable read needs a leader: the cheapest proof the cluster can serve.
        let probe = kv.get(vec![0], Some(GetOptions::new().with_count_only()));
        call(store.config.connect_timeout, probe)
            .await
            .map_err(|err| match err {
                StoreError::Unavailable { reason, .. } => StoreError::unavailable(format!(
                    "etcd at {:?} is not serving: {reason}",
                    store.config.endpoints
                )),
                other => other,
            })?;
        tracing::debug!(endpoints = ?store.config.endpoints, "connected to etcd");
        Ok(store)
    }

    pub fn config(&self) -> &EtcdStoreConfig {
        &self.config
    }
}

#[async_trait]
impl Store for EtcdStore {
    fn backend(&self) -> &'static str {
        "etcd"
    }

    fn max_batch_ops(&self) -> usize {
        self.config.max_batch_ops
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.get_key(key).await
    }

    async fn put(&self, key: &str, value: Bytes, lease: Option<LeaseId>) -> Result<Revision> {
        self.put_key(key, value, lease).await
    }

    async fn delete(&self, key: &str) -> Result<DeleteOutcome> {
        self.delete_key(key).await
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<DeleteOutcome> {
        self.delete_keys_with_prefix(prefix).await
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Revision> {
        self.apply_batch(ops).await
    }

    async fn compare_and_swap(&self, cas: Cas) -> Result<CasOutcome> {
        self.cas(cas).await
    }

    async fn list(&self, prefix: &str) -> Result<ListResult> {
        self.list_prefix(prefix).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        self.watch_prefix(prefix, after).await
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId> {
        self.grant(ttl).await
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<()> {
        self.refresh(lease).await
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<()> {
        self.revoke(lease).await
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.compact_to(revision).await
    }
}
