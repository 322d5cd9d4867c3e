//! Importing peers' exports (KVStoreMesh-style): one task per connected peer keeps a
//! copy of the peer's records under `<peer>/` in the local store, so agents talk only to
//! their own apiserver, and the copy survives a peer outage.

mod conflicts;
mod files;
mod link;
pub mod mirror;
mod reachability;
mod registry;
mod task;

#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use clustermesh_proto::{Cluster, RecordKind};

pub use files::PeerFiles;
pub use registry::{PeerError, PeerRegistry};

/// Everything needed to import one peer. The private key never leaves this cluster: it
/// was made here for the CSR the peer signed.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub cluster: Cluster,
    /// The peer's CA: trusted for the peer's server certificate only.
    pub ca_pem: String,
    /// Issued by the peer's CA with the peer role and this cluster's name.
    pub cert_pem: String,
    pub key_pem: String,
}

// Hand-written so that a debug print never logs the key.
impl std::fmt::Debug for PeerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConfig")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

/// Timings of every import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportTimings {
    /// A peer whose heartbeat is missed this long is unreachable; agents then drop its
    /// backends but keep its tunnels and routes.
    pub peer_timeout: Duration,
    /// How long an unreachable peer's records stay cached; `None` keeps them.
    pub cache_ttl: Option<Duration>,
    pub connect_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for ImportTimings {
    fn default() -> Self {
        Self {
            peer_timeout: Duration::from_secs(3),
            cache_ttl: None,
            connect_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
        }
    }
}

/// One peer's import, as `ctl status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStatus {
    /// The peer's watch stream is open.
    pub connected: bool,
    /// `None` until the first heartbeat or the first timeout decides it.
    pub reachable: Option<bool>,
    pub synced_kinds: BTreeSet<RecordKind>,
    pub last_heartbeat_unix_ms: Option<i64>,
    pub record_counts: BTreeMap<RecordKind, usize>,
    pub last_error: Option<String>,
    pub events: u64,
    /// Messages refused as invalid (skipped, each with a warning naming what is wrong).
    pub rejected: u64,
    /// How far behind the peer's clock the last heartbeat arrived (clock skew
    /// included): the import lag as far as this side can see it.
    pub lag_ms: Option<u64>,
}
