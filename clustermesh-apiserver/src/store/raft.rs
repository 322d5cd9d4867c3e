//! The embedded default backend: a replicated [`KvState`](super::KvState) on openraft,
//! with the log and snapshots in redb and raft RPCs over tonic. One replica, or three
//! (or five) from a static peer list. Followers hand writes to the leader; reads use
//! raft's read-index, so every replica answers linearizably; watches are served from the
//! replica's own applied state.

mod codec;
mod config;
mod db;
mod forward;
mod lease_keeper;
mod log_store;
mod network;
mod proposer;
mod replica;
mod service;
mod state_machine;
mod store_impl;
mod type_config;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clustermesh_proto::pb::raft_replication_server::RaftReplicationServer;
use clustermesh_proto::tls;
use openraft::{BasicNode, RaftMetrics, SnapshotPolicy};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use config::{RaftStoreConfig, RaftStoreError, RaftTls, StartMode};
pub use type_config::NodeId;

use self::log_store::LogStore;
use self::network::{Network, PeerClient};
use self::proposer::Proposer;
use self::replica::Replica;
use self::service::RaftService;
use self::state_machine::{StateMachine, lock};
use super::lease_clock::LeaseClock;
use super::{ListResult, StoreError};

pub struct RaftStore {
    replica: Arc<Replica>,
    /// Lets `shutdown` wait until openraft's tasks have released the database, so the
    /// same data directory can be opened again at once.
    db_closed: Mutex<Option<db::Closed>>,
    max_batch_ops: usize,
    shutdown: CancellationToken,
    tasks: Mutex<JoinSet<()>>,
}

impl RaftStore {
    /// Opens (or with [`StartMode::Bootstrap`], creates) the replica's data directory,
    /// binds its raft service and joins the replica set.
    pub async fn start(config: RaftStoreConfig, mode: StartMode) -> Result<Self, RaftStoreError> {
        config.validate()?;
        let listen = config.listen_addr()?;
        let tls_err = |e: clustermesh_proto::tls::TlsError| RaftStoreError::Tls(e.to_string());
        let tls = &config.tls;
        let server_tls =
            tls::server_tls(&tls.cert_pem, &tls.key_pem, &tls.ca_pem).map_err(tls_err)?;
        let client_tls =
            tls::client_tls(&tls.ca_pem, &tls.cert_pem, &tls.key_pem, &tls.server_name)
                .map_err(tls_err)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| RaftStoreError::Bind {
                addr: listen,
                source,
            })?;
        let (db, db_closed) = {
            let config = config.clone();
            let path = config.db_path();
            match tokio::task::spawn_blocking(move || db::open(&config, mode)).await {
                Ok(opened) => opened?,
                // The database library must never take the process down over a bad file.
                Err(join) => {
                    return Err(RaftStoreError::Corrupted {
                        path,
                        reason: format!("the database library failed reading it: {join}"),
                    });
                }
            }
        };
        let (state_machine, applied) =
            StateMachine::load(db.clone(), config.state, config.watch_buffer_events).map_err(
                |reason| RaftStoreError::Corrupted {
                    path: config.db_path(),
                    reason,
                },
            )?;
        let mut log_store = LogStore::new(db);
        let fresh = {
            use openraft::storage::RaftLogStorage;
            let state = log_store
                .get_log_state()
                .await
                .map_err(|e| RaftStoreError::Corrupted {
                    path: config.db_path(),
                    reason: e.to_string(),
                })?;
            state.last_log_id.is_none()
                && lock(&applied)
                    .map(|a| a.last_applied.is_none())
                    .unwrap_or(false)
        };

        let raft_config = openraft::Config {
            cluster_name: "clustermesh-store".into(),
            heartbeat_interval: config.heartbeat_interval.as_millis() as u64,
            election_timeout_min: config.election_timeout.0.as_millis() as u64,
            election_timeout_max: config.election_timeout.1.as_millis() as u64,
            max_payload_entries: 64,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_after_logs),
            max_in_snapshot_log_to_keep: config.logs_kept_after_snapshot,
            // Purging in batches saves disk writes, but a batch larger than a snapshot
            // interval would never purge at all.
            purge_batch_size: (config.snapshot_after_logs / 2).clamp(1, 1024),
            snapshot_max_chunk_size: (config.max_message_bytes / 2) as u64,
            ..Default::default()
        }
        .validate()
        .map_err(|e| RaftStoreError::Config(e.to_string()))?;

        let network = Network {
            tls: client_tls.clone(),
            max_message_bytes: config.max_message_bytes,
        };
        let raft = openraft::Raft::new(
            config.node_id,
            Arc::new(raft_config),
            network,
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| RaftStoreError::Raft(e.to_string()))?;

        let peers = config
            .peers
            .iter()
            .filter(|(id, _)| **id != config.node_id)
            .map(|(id, addr)| {
                (
                    *id,
                    PeerClient::new(
                        *id,
                        &addr.to_string(),
                        &client_tls,
                        config.max_message_bytes,
                    ),
                )
            })
            .collect();
        let shutdown = CancellationToken::new();
        let (proposer, run_proposer) = Proposer::new(raft.clone(), shutdown.clone());
        let replica = Arc::new(Replica {
            id: config.node_id,
            raft,
            proposer,
            applied,
            clock: Mutex::new(LeaseClock::default()),
            peers,
            request_timeout: config.request_timeout,
        });

        let mut tasks = JoinSet::new();
        let span = tracing::info_span!("raft", node = config.node_id);
        let server = tonic::transport::Server::builder()
            .tls_config(server_tls)
            .map_err(|e| RaftStoreError::Tls(e.to_string()))?
            .add_service(
                RaftReplicationServer::new(RaftService {
                    replica: replica.clone(),
                })
                .max_decoding_message_size(config.max_message_bytes)
                .max_encoding_message_size(config.max_message_bytes),
            )
            .serve_with_incoming_shutdown(
                nodelay(tokio_stream::wrappers::TcpListenerStream::new(listener)),
                shutdown.clone().cancelled_owned(),
            );
        tasks.spawn(
            async move {
                if let Err(error) = server.await {
                    tracing::error!(%error, "raft service stopped");
                }
            }
            .instrument(span.clone()),
        );
        tasks.spawn(run_proposer.instrument(span.clone()));
        tasks.spawn(lease_keeper::run(replica.clone(), shutdown.clone()).instrument(span));

        // The lowest id seeds the membership on its very first start; the others learn it
        // from that replica. A replica with any log or snapshot is already a member.
        let seed = config.peers.keys().next() == Some(&config.node_id);
        if fresh && seed {
            let members: BTreeMap<NodeId, BasicNode> = config
                .peers
                .iter()
                .map(|(id, addr)| (*id, BasicNode::new(addr.to_string())))
                .collect();
            if let Err(error) = replica.raft.initialize(members).await {
                tracing::warn!(%error, "raft membership already initialized");
            }
        }
        Ok(RaftStore {
            replica,
            db_closed: Mutex::new(Some(db_closed)),
            max_batch_ops: config.max_batch_ops,
            shutdown,
            tasks: Mutex::new(tasks),
        })
    }

    pub fn node_id(&self) -> NodeId {
        self.replica.id
    }

    pub fn metrics(&self) -> watch::Receiver<RaftMetrics<NodeId, BasicNode>> {
        self.replica.raft.metrics()
    }

    pub fn is_leader(&self) -> bool {
        self.replica.is_leader()
    }

    /// Waits until this replica knows a leader, and returns it.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<NodeId, StoreError> {
        let metrics = self
            .replica
            .raft
            .wait(Some(timeout))
            .metrics(|m| m.current_leader.is_some(), "leader elected")
            .await
            .map_err(|e| StoreError::unavailable(format!("no raft leader: {e}")))?;
        metrics
            .current_leader
            .ok_or_else(|| StoreError::unavailable("no raft leader"))
    }

    /// This replica's own applied state, without asking the leader: for diagnostics and
    /// tests of replication, not for reads that must be current.
    pub fn local_list(&self, prefix: &str) -> Result<ListResult, StoreError> {
        Ok(lock(&self.replica.applied)?.state.list(prefix))
    }

    /// How many snapshots this replica installed from its leader since it started.
    pub fn snapshots_installed(&self) -> u64 {
        lock(&self.replica.applied)
            .map(|a| a.snapshots_installed)
            .unwrap_or(0)
    }

    /// Stops serving, stops raft and waits for every task. Idempotent.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        if let Err(error) = self.replica.raft.shutdown().await {
            tracing::debug!(%error, "raft shutdown");
        }
        let mut tasks = match self.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => return,
        };
        while tasks.join_next().await.is_some() {}
        let closed = self.db_closed.lock().ok().and_then(|mut c| c.take());
        if let Some(closed) = closed
            && tokio::time::timeout(Duration::from_secs(10), closed.wait())
                .await
                .is_err()
        {
            tracing::warn!("raft store database still open 10 s after shutdown");
        }
    }
}

/// Small raft messages must not wait for Nagle's algorithm (40 ms with delayed ACKs).
fn nodelay(
    incoming: tokio_stream::wrappers::TcpListenerStream,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    incoming.map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

impl Drop for RaftStore {
    fn drop(&mut self) {
        // Dropping the JoinSet aborts what is still running; raft's own tasks stop when
        // their handle is dropped.
        self.shutdown.cancel();
    }
}
