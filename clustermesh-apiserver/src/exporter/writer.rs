//! A round's store writes, made as its records come. A first round over a million pods
//! streams its records out of the index while it is still placing pods, so the store,
//! its watchers and the peers downstream work alongside the export, not after it.

use std::sync::Arc;

use bytes::Bytes;

use super::Desired;
use crate::store::{Revision, Store, StoreError, WriteOp};

pub(super) struct RoundWriter {
    store: Arc<dyn Store>,
    max_ops: usize,
    /// `Some`: the records under the prefix as listed, when the store may not hold what
    /// was last written. Every desired record is compared with them, and those left
    /// when the round ends are deleted. `None`: the store holds the last write, and
    /// what comes is the changes since.
    listed: Option<Desired>,
    puts: Vec<WriteOp>,
    /// Deletes wait for the end, so a reader never sees a record gone before its
    /// replacement is there.
    deletes: Vec<WriteOp>,
    pub written: Written,
}

/// What a round wrote.
#[derive(Debug, Default)]
pub(super) struct Written {
    pub ops: usize,
    pub batches: u64,
    pub revision: Option<Revision>,
}

impl RoundWriter {
    /// For changes since a write the store holds.
    pub fn changes(store: Arc<dyn Store>) -> Self {
        Self::new(store, None)
    }

    /// For every desired record, against what the store was listed to hold.
    pub fn against(store: Arc<dyn Store>, listed: Desired) -> Self {
        Self::new(store, Some(listed))
    }

    fn new(store: Arc<dyn Store>, listed: Option<Desired>) -> Self {
        let max_ops = store.max_batch_ops().max(1);
        Self {
            store,
            max_ops,
            listed,
            puts: Vec::with_capacity(max_ops),
            deletes: Vec::new(),
            written: Written::default(),
        }
    }

    pub async fn put(&mut self, key: String, value: Bytes) -> Result<(), StoreError> {
        if let Some(listed) = &mut self.listed
            && listed.remove(&key).as_ref() == Some(&value)
        {
            return Ok(());
        }
        self.puts.push(WriteOp::Put {
            key,
            value,
            lease: None,
        });
        if self.puts.len() >= self.max_ops {
            self.flush_puts().await?;
        }
        Ok(())
    }

    /// Against a listing a delete is implied: what no put names goes at the end.
    pub fn delete(&mut self, key: String) {
        if self.listed.is_none() {
            self.deletes.push(WriteOp::Delete { key });
        }
    }

    pub async fn op(&mut self, op: WriteOp) -> Result<(), StoreError> {
        match op {
            WriteOp::Put { key, value, .. } => self.put(key, value).await,
            WriteOp::Delete { key } => {
                self.delete(key);
                Ok(())
            }
        }
    }

    /// Writes what is pending, then the deletes.
    pub async fn finish(mut self) -> Result<Written, StoreError> {
        self.flush_puts().await?;
        let leftover = self.listed.take().unwrap_or_default();
        let mut deletes = std::mem::take(&mut self.deletes);
        deletes.extend(leftover.into_keys().map(|key| WriteOp::Delete { key }));
        for batch in crate::store::in_batches(deletes, self.max_ops) {
            self.write(batch).await?;
        }
        Ok(self.written)
    }

    async fn flush_puts(&mut self) -> Result<(), StoreError> {
        if self.puts.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.puts, Vec::with_capacity(self.max_ops));
        self.write(batch).await
    }

    async fn write(&mut self, batch: Vec<WriteOp>) -> Result<(), StoreError> {
        let ops = batch.len();
        self.written.revision = Some(self.store.write_batch(batch).await?);
        self.written.ops += ops;
        self.written.batches += 1;
        Ok(())
    }
}
