//! The in-memory backend: a [`KvState`] behind a mutex. For unit tests of the layers
//! above the store, and as the reference the other backends are held to.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;
use tracing::Instrument;

use super::checks::{check_batch_size, lease_ttl_ms, unexpected};
use super::lease_clock::LeaseClock;
use super::watch_hub::WatchHub;
use super::{
    Cas, CasOutcome, Command, CommandResponse, DeleteOutcome, KeyValue, KvState, KvStateConfig,
    LeaseId, ListResult, Result, Revision, Store, StoreError, WatchStream, WriteOp,
};

/// How often the lease clock is checked; expiry is late by at most this much.
const LEASE_TICK: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
pub struct MemoryStoreConfig {
    pub state: KvStateConfig,
    pub watch_buffer_events: usize,
    pub max_batch_ops: usize,
}

impl Default for MemoryStoreConfig {
    fn default() -> Self {
        MemoryStoreConfig {
            state: KvStateConfig::default(),
            watch_buffer_events: super::DEFAULT_WATCH_BUFFER_EVENTS,
            max_batch_ops: 10_000,
        }
    }
}

pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    max_batch_ops: usize,
    lease_task: tokio::task::JoinHandle<()>,
}

struct Inner {
    state: KvState,
    hub: WatchHub,
    clock: LeaseClock,
}

impl MemoryStore {
    /// Must be called inside a tokio runtime: it starts the lease-expiry task, which ends
    /// when the store is dropped.
    pub fn new(config: MemoryStoreConfig) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            state: KvState::new(config.state),
            hub: WatchHub::new(config.watch_buffer_events),
            clock: LeaseClock::default(),
        }));
        let lease_task = tokio::spawn(
            expire_leases(Arc::downgrade(&inner)).instrument(tracing::info_span!("memory-leases")),
        );
        MemoryStore {
            inner,
            max_batch_ops: config.max_batch_ops,
            lease_task,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>> {
        lock(&self.inner)
    }

    fn apply(&self, cmd: Command) -> Result<CommandResponse> {
        let mut inner = self.lock()?;
        inner.apply(cmd)
    }
}

impl Drop for MemoryStore {
    fn drop(&mut self) {
        self.lease_task.abort();
    }
}

impl Inner {
    fn apply(&mut self, cmd: Command) -> Result<CommandResponse> {
        let (result, events) = self.state.apply(cmd);
        self.hub.publish(&events);
        result
    }
}

fn lock(inner: &Mutex<Inner>) -> Result<MutexGuard<'_, Inner>> {
    inner
        .lock()
        .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
}

async fn expire_leases(inner: Weak<Mutex<Inner>>) {
    let mut tick = tokio::time::interval(LEASE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let Ok(mut inner) = lock(&inner) else { return };
        let ids = inner.clock.expired(Instant::now());
        if ids.is_empty() {
            continue;
        }
        for id in &ids {
            inner.clock.forget(*id);
        }
        if let Err(error) = inner.apply(Command::ExpireLeases { ids }) {
            tracing::warn!(%error, "lease expiry failed");
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn max_batch_ops(&self) -> usize {
        self.max_batch_ops
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        Ok(self.lock()?.state.get(key))
    }

    async fn put(&self, key: &str, value: Bytes, lease: Option<LeaseId>) -> Result<Revision> {
        let key = key.to_owned();
        match self.apply(Command::Put { key, value, lease })? {
            CommandResponse::Revision(rev) => Ok(rev),
            other => Err(unexpected(other)),
        }
    }

    async fn delete(&self, key: &str) -> Result<DeleteOutcome> {
        match self.apply(Command::Delete {
            key: key.to_owned(),
        })? {
            CommandResponse::Deleted(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<DeleteOutcome> {
        let prefix = prefix.to_owned();
        match self.apply(Command::DeletePrefix { prefix })? {
            CommandResponse::Deleted(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Revision> {
        check_batch_size(ops.len(), self.max_batch_ops)?;
        match self.apply(Command::Batch(ops))? {
            CommandResponse::Revision(rev) => Ok(rev),
            other => Err(unexpected(other)),
        }
    }

    async fn compare_and_swap(&self, cas: Cas) -> Result<CasOutcome> {
        match self.apply(Command::Cas(cas))? {
            CommandResponse::Cas(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<ListResult> {
        Ok(self.lock()?.state.list(prefix))
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let mut inner = self.lock()?;
        let Inner { state, hub, .. } = &mut *inner;
        Ok(hub.subscribe(state, prefix, after))
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId> {
        let ttl_ms = lease_ttl_ms(ttl)?;
        let mut inner = self.lock()?;
        match inner.apply(Command::GrantLease { ttl_ms })? {
            CommandResponse::LeaseGranted { id, .. } => {
                inner.clock.track(id, ttl, Instant::now());
                Ok(id)
            }
            other => Err(unexpected(other)),
        }
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<()> {
        let mut inner = self.lock()?;
        match inner.state.has_lease(lease) && inner.clock.refresh(lease, Instant::now()) {
            true => Ok(()),
            false => Err(StoreError::LeaseNotFound(lease.0)),
        }
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<()> {
        let mut inner = self.lock()?;
        inner.clock.forget(lease);
        inner.apply(Command::RevokeLease { id: lease }).map(|_| ())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.apply(Command::Compact { revision }).map(|_| ())
    }
}
