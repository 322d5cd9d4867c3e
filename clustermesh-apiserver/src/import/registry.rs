//! The connected peers: their persisted settings, the running import task of each, and
//! the steps of `ctl connect` that touch this side (CSR, signing, install, removal).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use clustermesh_proto::{
    Cluster, ClusterName, cluster_prefix,
    tls::{self, ClusterCa, PeerIdentity, Role},
};
use tokio::sync::watch;
use tokio_util::{sync::CancellationToken, task::AbortOnDropHandle};
use tracing::Instrument;

use super::{
    ImportStatus, ImportTimings, PeerConfig, conflicts,
    files::{PeerFileError, PeerFiles},
    task::ImportTask,
};
use crate::store::{Store, StoreError};

/// Validity of the peer certificates this cluster signs. Re-running `ctl connect`
/// renews them.
pub const PEER_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("{0}")]
    Invalid(String),
    /// The peer clashes with this cluster or a connected peer.
    #[error("{0}")]
    Conflict(String),
    #[error("no peer named {0}")]
    NotFound(ClusterName),
    #[error("no CSR was created for peer {0}; call CreatePeerCsr first")]
    NoPendingKey(ClusterName),
    #[error(transparent)]
    Files(#[from] PeerFileError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Running {
    config: PeerConfig,
    status: watch::Receiver<ImportStatus>,
    stop: CancellationToken,
    task: AbortOnDropHandle<()>,
}

pub struct PeerRegistry {
    store: Arc<dyn Store>,
    ca: Arc<ClusterCa>,
    /// This cluster as exported, for conflict checks (pod CIDRs may come from nodes).
    own: watch::Receiver<Cluster>,
    files: PeerFiles,
    timings: ImportTimings,
    shutdown: CancellationToken,
    peers: Mutex<BTreeMap<ClusterName, Running>>,
    /// Cancelled when a peer is removed, which ends its open export streams at once.
    admitted: Mutex<BTreeMap<ClusterName, CancellationToken>>,
}

impl PeerRegistry {
    /// Starts importing every peer installed in `files`. Damaged peer directories are
    /// logged and skipped.
    pub fn start(
        store: Arc<dyn Store>,
        ca: Arc<ClusterCa>,
        own: watch::Receiver<Cluster>,
        files: PeerFiles,
        timings: ImportTimings,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let registry = Arc::new(Self {
            store,
            ca,
            own,
            files,
            timings,
            shutdown,
            peers: Mutex::new(BTreeMap::new()),
            admitted: Mutex::new(BTreeMap::new()),
        });
        let (peers, errors) = registry.files.load_all();
        for error in errors {
            tracing::error!(%error, "skipping a peer whose settings cannot be read");
        }
        for peer in peers {
            registry.spawn(peer);
        }
        registry
    }

    fn own(&self) -> Cluster {
        self.own.borrow().clone()
    }

    /// Step 2 of `connect`: a key pair for our client identity towards `peer`. The key
    /// stays here; only the CSR leaves.
    pub fn create_csr(&self, peer: &str) -> Result<String, PeerError> {
        let peer = self.peer_name(peer)?;
        let own = self.own();
        let (csr_pem, key_pem) = tls::create_csr(Role::Peer, own.name.as_str())
            .map_err(|e| PeerError::Invalid(e.to_string()))?;
        self.files.save_pending_key(&peer, &key_pem)?;
        Ok(csr_pem)
    }

    /// Step 3: sign `peer`'s CSR with the peer role, which admits it to our exports.
    pub fn sign_csr(&self, peer: &str, csr_pem: &str) -> Result<String, PeerError> {
        let peer = self.peer_name(peer)?;
        let cert = self
            .ca
            .sign_csr(csr_pem, Role::Peer, peer.as_str(), PEER_CERT_VALIDITY)
            .map_err(|e| PeerError::Invalid(format!("CSR of peer {peer}: {e}")))?;
        self.files.mark_signed(&peer)?;
        Ok(cert)
    }

    /// Step 4: start importing `peer` with the certificate it signed for us.
    pub async fn install(
        &self,
        peer: Cluster,
        ca_pem: String,
        cert_pem: String,
    ) -> Result<(), PeerError> {
        let own = self.own();
        {
            let peers = self.lock();
            conflicts::check(&own, peers.values().map(|r| &r.config.cluster), &peer)
                .map_err(PeerError::Conflict)?;
        }
        let identity = PeerIdentity::from_pem(&cert_pem)
            .map_err(|e| PeerError::Invalid(format!("client certificate: {e}")))?;
        let expected = PeerIdentity::new(peer.name.clone(), Role::Peer, own.name.as_str())
            .map_err(|e| PeerError::Invalid(e.to_string()))?;
        if identity != expected {
            return Err(PeerError::Invalid(format!(
                "client certificate names {identity}, expected {expected}"
            )));
        }
        let key_pem = self
            .files
            .pending_key(&peer.name)?
            .ok_or_else(|| PeerError::NoPendingKey(peer.name.clone()))?;
        // Fails early, naming the bad part, if the CA does not parse or the certificate
        // is not for our pending key.
        tls::client_tls(
            &ca_pem,
            &cert_pem,
            &key_pem,
            &tls::apiserver_server_name(&peer.name),
        )
        .map_err(|e| PeerError::Invalid(format!("peer {}: {e}", peer.name)))?;
        let config = PeerConfig {
            cluster: peer,
            ca_pem,
            cert_pem,
            key_pem,
        };
        self.files.save(&config)?;
        // The old import must be gone before the new one loads its mirror: a write of
        // the old one landing later would leave the two disagreeing.
        let old = self.lock().remove(&config.cluster.name);
        if let Some(old) = old {
            old.stop.cancel();
            let _ = old.task.await;
        }
        self.spawn(config);
        Ok(())
    }

    /// Stops importing `peer`, revokes its access to our exports, and deletes its cached
    /// records.
    pub async fn remove(&self, peer: &str) -> Result<(), PeerError> {
        let peer = self.peer_name(peer)?;
        let running = self.lock().remove(&peer);
        let signed = self.files.is_signed(&peer);
        if let Some(admission) = lock_map(&self.admitted).remove(&peer) {
            admission.cancel();
        }
        if running.is_none() && !signed {
            return Err(PeerError::NotFound(peer));
        }
        if let Some(running) = running {
            running.stop.cancel();
            // Waits for the task, so none of its writes lands after the delete below.
            let _ = running.task.await;
        }
        self.files.remove(&peer)?;
        self.store.delete_prefix(&cluster_prefix(&peer)).await?;
        Ok(())
    }

    pub fn list(&self) -> Vec<Cluster> {
        self.lock()
            .values()
            .map(|r| r.config.cluster.clone())
            .collect()
    }

    pub fn statuses(&self) -> Vec<(Cluster, ImportStatus)> {
        self.lock()
            .values()
            .map(|r| (r.config.cluster.clone(), r.status.borrow().clone()))
            .collect()
    }

    /// A token that lives while `peer` holds a certificate we signed and have not
    /// revoked, for its export streams to end with; `None` if it is not admitted.
    pub fn admission(&self, peer: &ClusterName) -> Option<CancellationToken> {
        if !self.files.is_signed(peer) {
            return None;
        }
        let mut admitted = lock_map(&self.admitted);
        let token = admitted
            .entry(peer.clone())
            .or_insert_with(|| self.shutdown.child_token());
        Some(token.clone())
    }

    fn spawn(&self, config: PeerConfig) {
        let name = config.cluster.name.clone();
        let (status_tx, status) = watch::channel(ImportStatus::default());
        let stop = self.shutdown.child_token();
        let task = ImportTask {
            store: self.store.clone(),
            peer: config.clone(),
            timings: self.timings,
            status: status_tx,
        };
        let span = tracing::info_span!("import", peer = %name);
        let handle = tokio::spawn(task.run(stop.clone()).instrument(span));
        let running = Running {
            config,
            status,
            stop,
            task: AbortOnDropHandle::new(handle),
        };
        // Replacing a running import drops (aborts) the old one.
        if let Some(old) = self.lock().insert(name, running) {
            old.stop.cancel();
        }
    }

    fn peer_name(&self, peer: &str) -> Result<ClusterName, PeerError> {
        let name = ClusterName::new(peer)
            .map_err(|e| PeerError::Invalid(format!("peer cluster name: {e}")))?;
        if name == self.own().name {
            return Err(PeerError::Conflict(format!(
                "peer cluster name {name} is this cluster's own name"
            )));
        }
        Ok(name)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<ClusterName, Running>> {
        // A panic while holding a lock cannot leave its map half-updated: every
        // critical section is a single insert, remove or read.
        lock_map(&self.peers)
    }
}

fn lock_map<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
