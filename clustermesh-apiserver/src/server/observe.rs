//! Turns what the exporter and the imports report into metrics, readiness, and the
//! exported view of this cluster that the APIs and conflict checks use.

use std::{sync::Arc, time::Duration};

use clustermesh_proto::{Cluster, ClusterName, RecordKind};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::exporter::ExportStatus;
use crate::import::PeerRegistry;
use crate::observability::{HealthReporter, Metrics};

/// Readiness conditions: the first export is in the store.
pub(super) const CONDITIONS: [&str; 1] = ["export"];

/// How often peer import statuses are copied into metrics.
const PEER_METRICS_INTERVAL: Duration = Duration::from_secs(1);

pub(super) struct Observer {
    pub export: watch::Receiver<ExportStatus>,
    pub peers: Arc<PeerRegistry>,
    pub metrics: Metrics,
    pub health: HealthReporter,
    pub own: watch::Sender<Cluster>,
    pub cluster: ClusterName,
    /// Per peer, the heartbeat whose lag was last observed: each is observed once.
    pub lag_seen: std::collections::HashMap<ClusterName, i64>,
    /// Per peer, the event and rejection counts already added to the counters.
    pub counted: std::collections::HashMap<ClusterName, (u64, u64)>,
}

impl Observer {
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut tick = tokio::time::interval(PEER_METRICS_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut writes = 0;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                changed = self.export.changed() => {
                    if changed.is_err() {
                        // The exporter is gone; its own task reports why.
                        shutdown.cancelled().await;
                        return Ok(());
                    }
                    let status = self.export.borrow_and_update().clone();
                    writes = self.on_export(&status, writes);
                }
                _ = tick.tick() => self.on_peers(),
            }
        }
    }

    fn on_export(&self, status: &ExportStatus, writes_seen: u64) -> u64 {
        if let Some(cluster) = &status.cluster {
            self.own.send_if_modified(|own| {
                let changed = own != cluster;
                *own = cluster.clone();
                changed
            });
        }
        match (&status.last_error, status.synced) {
            (Some(error), _) => self.health.set_not_ready("export", error.clone()),
            (None, synced) => self.health.set_ready("export", synced),
        }
        let cluster = self.cluster.as_str();
        for (kind, n) in &status.counts {
            self.metrics.set_records(cluster, kind.as_str(), *n as u64);
        }
        self.metrics
            .set_export_warnings(status.warnings.len() as u64);
        self.metrics
            .set_source_parse_errors(status.source_errors.len() as u64);
        self.metrics.set_source_generation(status.source_generation);
        self.metrics
            .inc_export_writes(status.writes.saturating_sub(writes_seen));
        status.writes.max(writes_seen)
    }

    fn on_peers(&mut self) {
        for (peer, status) in self.peers.statuses() {
            let name = peer.name.as_str();
            self.metrics.set_peer_connected(name, status.connected);
            self.metrics
                .set_peer_reachable(name, status.reachable == Some(true));
            self.metrics
                .set_peer_synced(name, status.synced_kinds.len() == RecordKind::ALL.len());
            if let Some(ms) = status.last_heartbeat_unix_ms {
                self.metrics.set_peer_last_heartbeat(name, ms);
            }
            if let (Some(lag), Some(beat)) = (status.lag_ms, status.last_heartbeat_unix_ms)
                && self.lag_seen.insert(peer.name.clone(), beat) != Some(beat)
            {
                self.metrics
                    .observe_import_lag(name, Duration::from_millis(lag));
            }
            for kind in RecordKind::ALL {
                let n = status.record_counts.get(&kind).copied().unwrap_or(0);
                self.metrics.set_records(name, kind.as_str(), n as u64);
            }
            // A restarted import task counts from zero again: only growth is added.
            let (events, rejected) = self.counted.entry(peer.name.clone()).or_default();
            self.metrics
                .inc_import_events(name, status.events.saturating_sub(*events));
            if status.rejected > *rejected {
                let n = status.rejected - *rejected;
                self.metrics.add_import_errors(name, "invalid_event", n);
            }
            (*events, *rejected) = (status.events, status.rejected);
        }
    }
}
