//! Helpers for tests of the store backends that need real servers: a throwaway etcd
//! process, a raft replica set on loopback, and the conformance harnesses built on them.

mod etcd_process;
mod raft_cluster;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use etcd_process::EtcdProcess;
pub use raft_cluster::{RaftCluster, RaftHarness};

use super::conformance::{HarnessOptions, StoreHarness, TestStore};
use super::etcd::EtcdStore;

/// Runs each conformance case against its own fresh etcd process.
#[derive(Debug, Clone, Default)]
pub struct EtcdHarness {
    /// Namespace for the store's keys (see `EtcdStoreConfig::key_prefix`).
    pub key_prefix: String,
    /// Overrides `EtcdStoreConfig::list_page_keys`, e.g. to force many pages.
    pub list_page_keys: Option<usize>,
}

impl EtcdHarness {
    /// A harness whose stores keep their keys under `prefix`.
    pub fn with_key_prefix(prefix: impl Into<String>) -> Self {
        EtcdHarness {
            key_prefix: prefix.into(),
            ..EtcdHarness::default()
        }
    }
}

#[async_trait]
impl StoreHarness for EtcdHarness {
    async fn start(&self, options: HarnessOptions) -> Result<TestStore, String> {
        let etcd = EtcdProcess::start().await?;
        let mut config = etcd.store_config();
        config.key_prefix = self.key_prefix.clone();
        config.watch_buffer_events = options.watch_buffer_events;
        if let Some(keys) = self.list_page_keys {
            config.list_page_keys = keys;
        }
        let store = EtcdStore::connect(config).await.map_err(|err| {
            format!(
                "connecting to etcd at {}: {err}; etcd stderr: {}",
                etcd.client_url(),
                etcd.stderr_tail()
            )
        })?;
        Ok(TestStore {
            store: Arc::new(store),
            guard: Box::new(etcd),
        })
    }
}

/// How long test waits allow: generous, because tests run on slow CI machines against
/// real processes.
pub const WAIT_DEADLINE: Duration = Duration::from_secs(30);

/// Polls `check` until it holds, failing the test if `WAIT_DEADLINE` passes first.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT_DEADLINE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not true within {WAIT_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
