//! [`Store`] for [`RaftStore`]: writes become log entries, reads go through read-index.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::RaftStore;
use super::forward::{ForwardReply, ForwardRequest};
use super::state_machine::lock;
use crate::store::checks::{check_batch_size, lease_ttl_ms, unexpected};
use crate::store::{
    Cas, CasOutcome, Command, CommandResponse, DeleteOutcome, KeyValue, LeaseId, ListResult,
    Result, Revision, Store, StoreError, WatchStream, WriteOp,
};

#[async_trait]
impl Store for RaftStore {
    fn backend(&self) -> &'static str {
        "raft"
    }

    fn max_batch_ops(&self) -> usize {
        self.max_batch_ops
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.replica.read(|state| state.get(key)).await
    }

    async fn put(&self, key: &str, value: Bytes, lease: Option<LeaseId>) -> Result<Revision> {
        let key = key.to_owned();
        match self
            .replica
            .write(Command::Put { key, value, lease })
            .await?
        {
            CommandResponse::Revision(rev) => Ok(rev),
            other => Err(unexpected(other)),
        }
    }

    async fn delete(&self, key: &str) -> Result<DeleteOutcome> {
        match self
            .replica
            .write(Command::Delete {
                key: key.to_owned(),
            })
            .await?
        {
            CommandResponse::Deleted(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<DeleteOutcome> {
        let prefix = prefix.to_owned();
        match self.replica.write(Command::DeletePrefix { prefix }).await? {
            CommandResponse::Deleted(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    async fn write_batch(&self, ops: Vec<WriteOp>) -> Result<Revision> {
        check_batch_size(ops.len(), self.max_batch_ops)?;
        match self.replica.write(Command::Batch(ops)).await? {
            CommandResponse::Revision(rev) => Ok(rev),
            other => Err(unexpected(other)),
        }
    }

    async fn compare_and_swap(&self, cas: Cas) -> Result<CasOutcome> {
        match self.replica.write(Command::Cas(cas)).await? {
            CommandResponse::Cas(outcome) => Ok(outcome),
            other => Err(unexpected(other)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<ListResult> {
        self.replica.read(|state| state.list(prefix)).await
    }

    async fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        // On a follower, a compaction or write acknowledged just before may not be
        // applied here yet; without this the watch would replay compacted history.
        self.replica.caught_up().await?;
        let mut applied = lock(&self.replica.applied)?;
        let applied = &mut *applied;
        Ok(applied.hub.subscribe(&applied.state, prefix, after))
    }

    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId> {
        let ttl_ms = lease_ttl_ms(ttl)?;
        match self.replica.write(Command::GrantLease { ttl_ms }).await? {
            CommandResponse::LeaseGranted { id, .. } => Ok(id),
            other => Err(unexpected(other)),
        }
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<()> {
        match self
            .replica
            .execute(&ForwardRequest::KeepAlive(lease))
            .await?
        {
            ForwardReply::KeptAlive => Ok(()),
            other => Err(StoreError::Backend(format!(
                "unexpected keep-alive reply {other:?}"
            ))),
        }
    }

    async fn revoke_lease(&self, lease: LeaseId) -> Result<()> {
        self.replica
            .write(Command::RevokeLease { id: lease })
            .await
            .map(|_| ())
    }

    async fn compact(&self, revision: Revision) -> Result<()> {
        self.replica
            .write(Command::Compact { revision })
            .await
            .map(|_| ())
    }
}
