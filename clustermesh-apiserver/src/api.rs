//! The gRPC APIs, all over mTLS, each RPC authorized by the role in the caller's
//! certificate: `Mesh` for agents, `PeerExport` for peers, `Admin` for `ctl`.

mod admin;
mod drill;
mod errors;
mod mesh;
mod peer;
mod services;
mod status;

use std::{sync::Arc, time::Duration};

use clustermesh_proto::{Cluster, ClusterName, Record, RecordKind, kind_prefix};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::drill::{Faults, ProbeHub};
use crate::exporter::ExportStatus;
use crate::import::PeerRegistry;
use crate::observability::Metrics;
use crate::source::SourceState;
use crate::store::Store;

pub use admin::AdminApi;
pub use mesh::MeshApi;
pub use peer::PeerExportApi;

/// A feed as a gRPC response stream: events `convert` has no wire form for are left
/// out, store errors become statuses, and `guard` (the watch-client metric) lives as
/// long as the stream.
pub(crate) fn response_stream<T: Send + 'static>(
    events: crate::feed::Feed,
    guard: crate::observability::WatchClientGuard,
    convert: fn(crate::feed::FeedEvent) -> Option<T>,
) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, tonic::Status>> + Send>> {
    use futures::StreamExt;
    Box::pin(events.filter_map(move |event| {
        let _held = &guard;
        std::future::ready(match event {
            Ok(event) => convert(event).map(Ok),
            Err(e) => Some(Err(errors::store(e))),
        })
    }))
}

/// Largest request any API accepts. Requests are small (a CSR is the biggest); a
/// bigger one is refused before it is buffered.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// What every API handler reads. Cheap to clone.
#[derive(Clone)]
pub struct ApiContext {
    pub cluster: ClusterName,
    pub store: Arc<dyn Store>,
    /// The store's epoch, sent with every snapshot (see [`crate::feed`]).
    pub epoch: Arc<str>,
    pub peers: Arc<PeerRegistry>,
    /// This cluster as exported.
    pub own: watch::Receiver<Cluster>,
    pub export: watch::Receiver<ExportStatus>,
    pub source: watch::Receiver<SourceState>,
    pub ca_pem: Arc<str>,
    pub metrics: Metrics,
    pub timings: ApiTimings,
    /// Last heartbeat (or registration) per node, for status; kept in memory only,
    /// since the lease in the store is what decides whether a node is alive.
    pub heartbeats: Arc<std::sync::Mutex<std::collections::BTreeMap<String, NodeHeartbeat>>>,
    /// Drill faults in force in this cluster.
    pub faults: Faults,
    /// Probe runs between `ctl` and this cluster's agents.
    pub probes: ProbeHub,
    pub shutdown: CancellationToken,
}

impl ApiContext {
    /// The records of one kind of one cluster, as held in the local store; an entry
    /// that does not decode is skipped (the feed logs it).
    pub(crate) async fn records(
        &self,
        cluster: &ClusterName,
        kind: RecordKind,
    ) -> Result<Vec<Record>, tonic::Status> {
        let list = self
            .store
            .list(&kind_prefix(cluster, kind))
            .await
            .map_err(errors::store)?;
        Ok(list
            .items
            .iter()
            .filter_map(|kv| crate::layout::decode_record(&kv.key, &kv.value).ok())
            .collect())
    }

    /// A registration keeps the node's last tunnel report; a heartbeat replaces it
    /// when it carries one.
    pub(crate) fn record_heartbeat(
        &self,
        node: &str,
        tunnels: Option<clustermesh_proto::pb::TunnelReport>,
    ) {
        let at_unix_ms = crate::clock::now_ms();
        let mut heartbeats = self
            .heartbeats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = heartbeats.entry(node.to_owned()).or_default();
        entry.at_unix_ms = at_unix_ms;
        if tunnels.is_some() {
            entry.tunnels = tunnels;
        }
    }

    pub(crate) fn last_heartbeat(&self, node: &str) -> Option<NodeHeartbeat> {
        let heartbeats = self
            .heartbeats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        heartbeats.get(node).cloned()
    }
}

/// The last word from a node's agent.
#[derive(Debug, Clone, Default)]
pub struct NodeHeartbeat {
    pub at_unix_ms: i64,
    pub tunnels: Option<clustermesh_proto::pb::TunnelReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiTimings {
    /// A node whose agent misses heartbeats this long is lost (its lease expires).
    pub node_lease_ttl: Duration,
}

impl Default for ApiTimings {
    fn default() -> Self {
        Self {
            node_lease_ttl: Duration::from_secs(3),
        }
    }
}
