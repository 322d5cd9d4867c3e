//! Configuration and start-up errors of the embedded raft store.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::store::KvStateConfig;

use super::type_config::NodeId;

/// Whether a replica may create its data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartMode {
    /// First start: the data directory must not hold a store yet.
    Bootstrap,
    /// Every later start: the store must be there and intact. A replica that lost its
    /// data must not rejoin as if new, or it could vote twice in one term.
    Existing,
}

/// A replica's mTLS material. Every replica of a cluster holds a `server` certificate
/// from the cluster's CA and uses it both to serve and to dial its peers; there is no
/// plaintext mode.
#[derive(Clone)]
pub struct RaftTls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    /// The name the peers' certificates carry (`apiserver.<cluster>.clustermesh`).
    pub server_name: String,
}

impl std::fmt::Debug for RaftTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct RaftStoreConfig {
    pub node_id: NodeId,
    pub tls: RaftTls,
    /// Every replica, this one included: id → address its raft service listens on.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    pub data_dir: PathBuf,
    pub state: KvStateConfig,
    pub watch_buffer_events: usize,
    pub max_batch_ops: usize,
    pub heartbeat_interval: Duration,
    pub election_timeout: (Duration, Duration),
    /// Take a snapshot after this many log entries, then purge the log up to it.
    pub snapshot_after_logs: u64,
    /// Entries kept behind a snapshot, so a briefly lagging follower needs no snapshot.
    pub logs_kept_after_snapshot: u64,
    /// How long a write or read waits for a leader before answering `Unavailable`.
    pub request_timeout: Duration,
    /// Largest gRPC message between replicas (log batches, snapshot chunks).
    pub max_message_bytes: usize,
}

impl RaftStoreConfig {
    /// Sensible defaults for a replica set listed in `peers`.
    pub fn new(
        node_id: NodeId,
        peers: BTreeMap<NodeId, SocketAddr>,
        data_dir: PathBuf,
        tls: RaftTls,
    ) -> Self {
        RaftStoreConfig {
            node_id,
            tls,
            peers,
            data_dir,
            state: KvStateConfig::default(),
            watch_buffer_events: crate::store::DEFAULT_WATCH_BUFFER_EVENTS,
            max_batch_ops: 10_000,
            heartbeat_interval: Duration::from_millis(100),
            election_timeout: (Duration::from_millis(300), Duration::from_millis(600)),
            snapshot_after_logs: 20_000,
            logs_kept_after_snapshot: 2_000,
            request_timeout: Duration::from_secs(10),
            max_message_bytes: 256 << 20,
        }
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, RaftStoreError> {
        self.peers
            .get(&self.node_id)
            .copied()
            .ok_or(RaftStoreError::NotInPeers(self.node_id))
    }

    pub(crate) fn validate(&self) -> Result<(), RaftStoreError> {
        self.listen_addr()?;
        if self.peers.contains_key(&0) {
            return Err(RaftStoreError::Config("raft node ids start at 1".into()));
        }
        if !matches!(self.peers.len(), 1 | 3 | 5) {
            return Err(RaftStoreError::Config(format!(
                "a replica set has 1, 3 or 5 members, not {}",
                self.peers.len()
            )));
        }
        let (min, max) = self.election_timeout;
        if self.heartbeat_interval * 2 > min || min >= max {
            return Err(RaftStoreError::Config(format!(
                "election timeout {min:?}..{max:?} must exceed twice the heartbeat {:?}",
                self.heartbeat_interval
            )));
        }
        Ok(())
    }

    pub(crate) fn db_path(&self) -> PathBuf {
        self.data_dir.join("raft.redb")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RaftStoreError {
    #[error("invalid raft store configuration: {0}")]
    Config(String),

    #[error("node id {0} is not in the raft peer list")]
    NotInPeers(NodeId),

    #[error(
        "raft data directory {} holds no store; refusing to start a replica empty \
         (a replica that lost its data must not rejoin as new; bootstrap it explicitly)",
        .0.display()
    )]
    DataDirMissing(PathBuf),

    #[error("raft data directory {} already holds a store; refusing to bootstrap over it", .0.display())]
    AlreadyBootstrapped(PathBuf),

    #[error("raft store {} is in use by another process (or another store in this one)", .0.display())]
    Locked(PathBuf),

    #[error("raft store {} is corrupted: {reason}", path.display())]
    Corrupted { path: PathBuf, reason: String },

    #[error("raft store {} belongs to node {found}, not node {expected}", path.display())]
    WrongNode {
        path: PathBuf,
        expected: NodeId,
        found: NodeId,
    },

    #[error("raft replication TLS: {0}")]
    Tls(String),

    #[error("cannot bind the raft service on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("raft store I/O at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("raft failed to start: {0}")]
    Raft(String),
}
