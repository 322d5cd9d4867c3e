//! The raft log, vote and commit index in redb. Every append is durable before openraft
//! is told it is: that is what lets a replica count itself in a quorum.

use std::fmt::Debug;
use std::ops::RangeBounds;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader};
use redb::{Database, Durability, ReadableDatabase, ReadableTable};

use super::db::Db;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::{decode, encode, encode_sized};
use super::db::{LOGS, META, META_COMMITTED, META_LAST_PURGED, META_VOTE};
use super::type_config::{Entry, LogId, StorageError, TypeConfig, Vote};

#[derive(Clone)]
pub(crate) struct LogStore {
    db: Arc<Db>,
}

fn io_err(subject: ErrorSubject<u64>, verb: ErrorVerb, msg: impl ToString) -> StorageError {
    StorageError::from_io_error(subject, verb, std::io::Error::other(msg.to_string()))
}

fn logs_err(verb: ErrorVerb) -> impl Fn(String) -> StorageError {
    move |msg| io_err(ErrorSubject::Logs, verb, msg)
}

impl LogStore {
    pub(crate) fn new(db: Arc<Db>) -> Self {
        LogStore { db }
    }

    /// Runs blocking redb work off the async workers.
    async fn blocking<T, F>(&self, verb: ErrorVerb, work: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, String> + Send + 'static,
    {
        let db = self.db.clone();
        match tokio::task::spawn_blocking(move || work(&db)).await {
            Ok(result) => result.map_err(logs_err(verb)),
            Err(join) => Err(io_err(ErrorSubject::Logs, verb, join)),
        }
    }

    async fn read_meta<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &'static str,
    ) -> Result<Option<T>, StorageError> {
        self.blocking(ErrorVerb::Read, move |db| {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            let meta = txn.open_table(META).map_err(|e| e.to_string())?;
            match meta.get(key).map_err(|e| e.to_string())? {
                Some(v) => decode(v.value()).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn write_meta<T: Serialize>(
        &self,
        key: &'static str,
        value: &T,
        durability: Durability,
    ) -> Result<(), StorageError> {
        let bytes = encode(value).map_err(logs_err(ErrorVerb::Write))?;
        self.blocking(ErrorVerb::Write, move |db| {
            let mut txn = db.begin_write().map_err(|e| e.to_string())?;
            txn.set_durability(durability).map_err(|e| e.to_string())?;
            {
                let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
                meta.insert(key, bytes.as_slice())
                    .map_err(|e| e.to_string())?;
            }
            txn.commit().map_err(|e| e.to_string())
        })
        .await
    }
}

/// Room for an entry's encoding: field names take about a quarter on top of its keys
/// and values.
fn size_hint(entry: &Entry) -> usize {
    match &entry.payload {
        openraft::EntryPayload::Normal(command) => 2 * command.approx_size() + 128,
        _ => 128,
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = range.start_bound().cloned();
        let end = range.end_bound().cloned();
        self.blocking(ErrorVerb::Read, move |db| {
            let txn = db.begin_read().map_err(|e| e.to_string())?;
            let logs = txn.open_table(LOGS).map_err(|e| e.to_string())?;
            let mut entries = Vec::new();
            for item in logs.range::<u64>((start, end)).map_err(|e| e.to_string())? {
                let (_, bytes) = item.map_err(|e| e.to_string())?;
                entries.push(decode::<Entry>(bytes.value())?);
            }
            Ok(entries)
        })
        .await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged: Option<LogId> = self.read_meta(META_LAST_PURGED).await?;
        let last = self
            .blocking(ErrorVerb::Read, |db| {
                let txn = db.begin_read().map_err(|e| e.to_string())?;
                let logs = txn.open_table(LOGS).map_err(|e| e.to_string())?;
                match logs.last().map_err(|e| e.to_string())? {
                    Some((_, bytes)) => decode::<Entry>(bytes.value()).map(|e| Some(e.log_id)),
                    None => Ok(None),
                }
            })
            .await?;
        Ok(LogState {
            last_purged_log_id: last_purged,
            last_log_id: last.or(last_purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.write_meta(META_VOTE, vote, Durability::Immediate)
            .await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.read_meta(META_VOTE).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Advisory (it only speeds up replay after a restart), so it rides along with the
        // next durable commit instead of paying for its own fsync.
        self.write_meta(META_COMMITTED, &committed, Durability::None)
            .await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self
            .read_meta::<Option<LogId>>(META_COMMITTED)
            .await?
            .flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded = entries
            .into_iter()
            .map(|e| encode_sized(&e, size_hint(&e)).map(|bytes| (e.log_id.index, bytes)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(logs_err(ErrorVerb::Write))?;
        let result = self
            .blocking(ErrorVerb::Write, move |db| {
                let txn = db.begin_write().map_err(|e| e.to_string())?;
                {
                    let mut logs = txn.open_table(LOGS).map_err(|e| e.to_string())?;
                    for (index, bytes) in &encoded {
                        logs.insert(*index, bytes.as_slice())
                            .map_err(|e| e.to_string())?;
                    }
                }
                txn.commit().map_err(|e| e.to_string())
            })
            .await;
        let io_result = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io_result);
        result
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.blocking(ErrorVerb::Delete, move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            {
                let mut logs = txn.open_table(LOGS).map_err(|e| e.to_string())?;
                logs.retain_in(log_id.index.., |_, _| false)
                    .map_err(|e| e.to_string())?;
            }
            txn.commit().map_err(|e| e.to_string())
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let marker = encode(&log_id).map_err(logs_err(ErrorVerb::Delete))?;
        self.blocking(ErrorVerb::Delete, move |db| {
            let txn = db.begin_write().map_err(|e| e.to_string())?;
            {
                let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
                meta.insert(META_LAST_PURGED, marker.as_slice())
                    .map_err(|e| e.to_string())?;
                let mut logs = txn.open_table(LOGS).map_err(|e| e.to_string())?;
                logs.retain_in(..=log_id.index, |_, _| false)
                    .map_err(|e| e.to_string())?;
            }
            txn.commit().map_err(|e| e.to_string())
        })
        .await
    }
}
