//! The replica's on-disk database (redb): raft log, vote, and the latest snapshot.
//!
//! Opening is strict on purpose: a missing, foreign or unreadable database stops the
//! replica with a clear error instead of letting it rejoin its peers with no memory.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::codec::{decode, encode};
use super::config::{RaftStoreConfig, RaftStoreError, StartMode};
use super::type_config::{NodeId, SnapshotMeta, Vote};

pub(crate) const LOGS: TableDefinition<u64, &[u8]> = TableDefinition::new("logs");
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const SNAPSHOT: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshot");

pub(crate) const META_NODE_ID: &str = "node_id";
pub(crate) const META_FORMAT: &str = "format";
pub(crate) const META_VOTE: &str = "vote";
pub(crate) const META_COMMITTED: &str = "committed";
pub(crate) const META_LAST_PURGED: &str = "last_purged";
pub(crate) const SNAPSHOT_META: &str = "meta";
pub(crate) const SNAPSHOT_DATA: &str = "data";

const FORMAT_VERSION: u32 = 1;

/// redb's page cache. Its default, 1 GiB, keeps every page written until it is full:
/// a replica importing a million records held its whole log in memory, and faulting in
/// those pages was a large share of an import's CPU. Entries are read back only when a
/// follower lags or at start, from the OS page cache if not from here.
const CACHE_BYTES: usize = 32 << 20;

pub(crate) fn open(
    config: &RaftStoreConfig,
    mode: StartMode,
) -> Result<(Arc<Db>, Closed), RaftStoreError> {
    let path = config.db_path();
    let corrupted = |reason: String| RaftStoreError::Corrupted {
        path: path.clone(),
        reason,
    };
    let db = match mode {
        StartMode::Bootstrap => {
            if path.exists() {
                return Err(RaftStoreError::AlreadyBootstrapped(config.data_dir.clone()));
            }
            std::fs::create_dir_all(&config.data_dir).map_err(|source| RaftStoreError::Io {
                path: config.data_dir.clone(),
                source,
            })?;
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&path)
                .map_err(|e| corrupted(e.to_string()))?;
            init_meta(&db, config.node_id).map_err(corrupted)?;
            db
        }
        StartMode::Existing => {
            if !path.is_file() {
                return Err(RaftStoreError::DataDirMissing(config.data_dir.clone()));
            }
            let mut db = open_when_unlocked(&path).map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => RaftStoreError::Locked(path.clone()),
                other => corrupted(other.to_string()),
            })?;
            match db.check_integrity() {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(path = %path.display(), "raft store repaired after an unclean shutdown")
                }
                Err(e) => return Err(corrupted(e.to_string())),
            }
            db
        }
    };
    verify(&db, config.node_id, &path)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let db = Db {
        db,
        _closed: CloseSignal(Some(tx)),
    };
    Ok((Arc::new(db), Closed(rx)))
}

/// The open database. redb still writes its file while `Database::drop` runs, after the
/// last `Arc` is gone, so completion is signalled by a field dropped after it (fields
/// drop in declaration order).
pub(crate) struct Db {
    db: Database,
    _closed: CloseSignal,
}

impl std::ops::Deref for Db {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

struct CloseSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for CloseSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Resolves once the database file is closed and fully written.
pub(crate) struct Closed(tokio::sync::oneshot::Receiver<()>);

impl Closed {
    pub(crate) async fn wait(self) {
        let _ = self.0.await;
    }
}

/// Opens the database, waiting briefly if its lock is held: a store closed a moment ago
/// in this process releases the lock only when its last handle is dropped.
fn open_when_unlocked(path: &Path) -> Result<Database, redb::DatabaseError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match Database::builder().set_cache_size(CACHE_BYTES).open(path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen)
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn init_meta(db: &Database, node_id: NodeId) -> Result<(), String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    {
        let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
        meta.insert(META_NODE_ID, encode(&node_id)?.as_slice())
            .map_err(|e| e.to_string())?;
        meta.insert(META_FORMAT, encode(&FORMAT_VERSION)?.as_slice())
            .map_err(|e| e.to_string())?;
        txn.open_table(LOGS).map_err(|e| e.to_string())?;
        txn.open_table(SNAPSHOT).map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())
}

/// Reads back everything a replica depends on at start, so damage shows now, not later.
fn verify(db: &Database, node_id: NodeId, path: &Path) -> Result<(), RaftStoreError> {
    let corrupted = |reason: String| RaftStoreError::Corrupted {
        path: path.to_owned(),
        reason,
    };
    let txn = db.begin_read().map_err(|e| corrupted(e.to_string()))?;
    let meta = txn
        .open_table(META)
        .map_err(|e| corrupted(format!("meta table: {e}")))?;
    let get = |key: &str| -> Result<Option<Vec<u8>>, RaftStoreError> {
        meta.get(key)
            .map(|v| v.map(|v| v.value().to_vec()))
            .map_err(|e| corrupted(format!("meta {key}: {e}")))
    };
    let found: NodeId = match get(META_NODE_ID)? {
        Some(bytes) => decode(&bytes).map_err(|e| corrupted(format!("node id: {e}")))?,
        None => return Err(corrupted("no node id recorded".into())),
    };
    if found != node_id {
        return Err(RaftStoreError::WrongNode {
            path: path.to_owned(),
            expected: node_id,
            found,
        });
    }
    let format: u32 = match get(META_FORMAT)? {
        Some(bytes) => decode(&bytes).map_err(|e| corrupted(format!("format: {e}")))?,
        None => return Err(corrupted("no format version recorded".into())),
    };
    if format != FORMAT_VERSION {
        return Err(corrupted(format!(
            "format version {format}, expected {FORMAT_VERSION}"
        )));
    }
    if let Some(bytes) = get(META_VOTE)? {
        decode::<Vote>(&bytes).map_err(|e| corrupted(format!("vote: {e}")))?;
    }
    let snapshots = txn
        .open_table(SNAPSHOT)
        .map_err(|e| corrupted(format!("snapshot table: {e}")))?;
    if let Some(bytes) = snapshots
        .get(SNAPSHOT_META)
        .map_err(|e| corrupted(format!("snapshot meta: {e}")))?
    {
        decode::<SnapshotMeta>(bytes.value())
            .map_err(|e| corrupted(format!("snapshot meta: {e}")))?;
    }
    let logs = txn
        .open_table(LOGS)
        .map_err(|e| corrupted(format!("log table: {e}")))?;
    for entry in [logs.first(), logs.last()] {
        if let Some((index, bytes)) = entry.map_err(|e| corrupted(format!("log: {e}")))? {
            decode::<super::type_config::Entry>(bytes.value())
                .map_err(|e| corrupted(format!("log entry {}: {e}", index.value())))?;
        }
    }
    Ok(())
}
