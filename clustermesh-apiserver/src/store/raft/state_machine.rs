//! The raft state machine: a [`KvState`] in memory, made durable by snapshots in redb
//! plus the log. On restart the latest snapshot is loaded and openraft replays the
//! committed entries after it, so the store never writes each apply to disk twice.

use std::io::Cursor;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder};
use redb::{Database, ReadableDatabase};

use super::db::Db;

use super::codec::{decode, encode};
use super::db::{SNAPSHOT, SNAPSHOT_DATA, SNAPSHOT_META};
use super::type_config::{
    ApplyResult, Entry, LogId, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::store::watch_hub::WatchHub;
use crate::store::{CommandResponse, KvSnapshot, KvState, KvStateConfig, StoreError};

/// What the state machine shares with readers and watchers of this replica.
pub(crate) struct Applied {
    pub(crate) state: KvState,
    pub(crate) hub: WatchHub,
    pub(crate) last_applied: Option<LogId>,
    pub(crate) membership: StoredMembership,
    pub(crate) snapshots_installed: u64,
}

pub(crate) type SharedApplied = Arc<Mutex<Applied>>;

pub(crate) fn lock(shared: &Mutex<Applied>) -> Result<MutexGuard<'_, Applied>, StoreError> {
    shared
        .lock()
        .map_err(|_| StoreError::Backend("raft state lock poisoned".into()))
}

fn sm_err(verb: ErrorVerb, msg: impl ToString) -> StorageError {
    StorageError::from_io_error(
        ErrorSubject::StateMachine,
        verb,
        std::io::Error::other(msg.to_string()),
    )
}

pub(crate) struct StateMachine {
    shared: SharedApplied,
    db: Arc<Db>,
    config: KvStateConfig,
}

impl StateMachine {
    /// Restores the state from the latest snapshot on disk, if there is one.
    pub(crate) fn load(
        db: Arc<Db>,
        config: KvStateConfig,
        watch_buffer_events: usize,
    ) -> Result<(Self, SharedApplied), String> {
        let applied = match read_snapshot(&db)? {
            Some((meta, data)) => Applied {
                state: KvState::from_snapshot(config, decode::<KvSnapshot>(&data)?),
                hub: WatchHub::new(watch_buffer_events),
                last_applied: meta.last_log_id,
                membership: meta.last_membership,
                snapshots_installed: 0,
            },
            None => Applied {
                state: KvState::new(config),
                hub: WatchHub::new(watch_buffer_events),
                last_applied: None,
                membership: StoredMembership::default(),
                snapshots_installed: 0,
            },
        };
        let shared = Arc::new(Mutex::new(applied));
        Ok((
            StateMachine {
                shared: shared.clone(),
                db,
                config,
            },
            shared,
        ))
    }
}

fn read_snapshot(db: &Database) -> Result<Option<(SnapshotMeta, Vec<u8>)>, String> {
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let table = txn.open_table(SNAPSHOT).map_err(|e| e.to_string())?;
    let meta = table.get(SNAPSHOT_META).map_err(|e| e.to_string())?;
    let data = table.get(SNAPSHOT_DATA).map_err(|e| e.to_string())?;
    match (meta, data) {
        (Some(meta), Some(data)) => Ok(Some((decode(meta.value())?, data.value().to_vec()))),
        (None, None) => Ok(None),
        _ => Err("snapshot meta and data disagree".into()),
    }
}

async fn write_snapshot(
    db: Arc<Db>,
    meta: &SnapshotMeta,
    data: Vec<u8>,
) -> Result<(), StorageError> {
    let meta = encode(meta).map_err(|e| sm_err(ErrorVerb::Write, e))?;
    let written = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut table = txn.open_table(SNAPSHOT).map_err(|e| e.to_string())?;
            table
                .insert(SNAPSHOT_META, meta.as_slice())
                .map_err(|e| e.to_string())?;
            table
                .insert(SNAPSHOT_DATA, data.as_slice())
                .map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())
    })
    .await;
    match written {
        Ok(result) => result.map_err(|e| sm_err(ErrorVerb::Write, e)),
        Err(join) => Err(sm_err(ErrorVerb::Write, join)),
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let applied = lock(&self.shared).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + openraft::OptionalSend,
        I::IntoIter: openraft::OptionalSend,
    {
        let mut applied = lock(&self.shared).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let applied = &mut *applied;
        let mut results = Vec::new();
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            let result = match entry.payload {
                EntryPayload::Blank => Ok(CommandResponse::Done),
                EntryPayload::Membership(m) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id), m);
                    Ok(CommandResponse::Done)
                }
                EntryPayload::Normal(cmd) => {
                    let (result, events) = applied.state.apply(cmd);
                    applied.hub.publish(&events);
                    result
                }
            };
            results.push(ApplyResult(result));
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            shared: self.shared.clone(),
            db: self.db.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let kv: KvSnapshot = decode(&data).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        write_snapshot(self.db.clone(), meta, data).await?;
        let mut applied = lock(&self.shared).map_err(|e| sm_err(ErrorVerb::Write, e))?;
        applied.state = KvState::from_snapshot(self.config, kv);
        // The history watchers would resume from is gone; they resume and get Compacted.
        applied.hub.cut_all_lagged();
        applied.last_applied = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        applied.snapshots_installed += 1;
        tracing::info!(snapshot = %meta.snapshot_id, revision = applied.state.revision(), "installed snapshot");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let db = self.db.clone();
        let read = tokio::task::spawn_blocking(move || read_snapshot(&db)).await;
        let found = match read {
            Ok(result) => result.map_err(|e| sm_err(ErrorVerb::Read, e))?,
            Err(join) => return Err(sm_err(ErrorVerb::Read, join)),
        };
        Ok(found.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

pub(crate) struct SnapshotBuilder {
    shared: SharedApplied,
    db: Arc<Db>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let (kv, last_applied, membership) = {
            let applied = lock(&self.shared).map_err(|e| sm_err(ErrorVerb::Read, e))?;
            (
                applied.state.to_snapshot(),
                applied.last_applied,
                applied.membership.clone(),
            )
        };
        let data = tokio::task::spawn_blocking(move || encode(&kv))
            .await
            .map_err(|e| sm_err(ErrorVerb::Write, e))?
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let snapshot_id = match last_applied {
            Some(id) => format!("{}-{}-{}", id.leader_id, id.index, data.len()),
            None => format!("empty-{}", data.len()),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        write_snapshot(self.db.clone(), &meta, data.clone()).await?;
        tracing::debug!(snapshot = %meta.snapshot_id, bytes = data.len(), "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}
