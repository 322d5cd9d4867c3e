//! The typed handle that updates the apiserver's metric families.

mod families;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use families::{ApiLabels, ErrorLabels, Inner, RecordLabels, Seen, peer};

/// The apiserver's Prometheus metrics (prefix `clustermesh_`). Cheap to clone; every
/// clone updates the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Metrics {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner::new()),
        }
    }

    /// Records of `kind` from `cluster` in the local store.
    pub fn set_records(&self, cluster: &str, kind: &str, n: u64) {
        let mut seen = self.inner.seen();
        seen.entry(cluster.to_owned())
            .or_default()
            .kinds
            .insert(kind.to_owned());
        let labels = RecordLabels {
            cluster: cluster.to_owned(),
            kind: kind.to_owned(),
        };
        self.inner.records.get_or_create(&labels).set(n);
    }

    pub fn set_peer_connected(&self, name: &str, connected: bool) {
        self.inner
            .peer_connected
            .get_or_create(&peer(name))
            .set(i64::from(connected));
    }

    pub fn set_peer_reachable(&self, name: &str, reachable: bool) {
        self.inner
            .peer_reachable
            .get_or_create(&peer(name))
            .set(i64::from(reachable));
    }

    /// Whether every kind from the peer is synced.
    pub fn set_peer_synced(&self, name: &str, synced: bool) {
        self.inner
            .peer_synced
            .get_or_create(&peer(name))
            .set(i64::from(synced));
    }

    /// The peer's last heartbeat, as Unix milliseconds (exported in seconds).
    pub fn set_peer_last_heartbeat(&self, name: &str, unix_ms: i64) {
        // Precision loss only past 2^53 ms, some 285,000 years out.
        let secs = unix_ms as f64 / 1000.0;
        self.inner
            .peer_last_heartbeat
            .get_or_create(&peer(name))
            .set(secs);
    }

    /// Time from the peer's event or heartbeat timestamp until it was applied locally.
    pub fn observe_import_lag(&self, name: &str, lag: Duration) {
        self.inner
            .import_lag
            .get_or_create(&peer(name))
            .observe(lag.as_secs_f64());
    }

    pub fn inc_import_events(&self, name: &str, n: u64) {
        self.inner
            .import_events
            .get_or_create(&peer(name))
            .inc_by(n);
    }

    /// `reason` is a short, fixed string (e.g. `invalid_record`), never free text, so
    /// the number of series stays bounded.
    pub fn add_import_errors(&self, name: &str, reason: &'static str, n: u64) {
        let mut seen = self.inner.seen();
        seen.entry(name.to_owned())
            .or_default()
            .reasons
            .insert(reason);
        let labels = ErrorLabels {
            peer: name.to_owned(),
            reason,
        };
        self.inner.import_errors.get_or_create(&labels).inc_by(n);
    }

    /// Counts one open watch stream of `api` (`mesh` or `peer`) until the guard drops,
    /// so a stream that ends any way at all cannot leak the gauge.
    pub fn watch_client_guard(&self, api: &'static str) -> WatchClientGuard {
        self.inner
            .watch_clients
            .get_or_create(&ApiLabels { api })
            .inc();
        WatchClientGuard {
            metrics: self.clone(),
            api,
        }
    }

    pub fn set_source_parse_errors(&self, n: u64) {
        self.inner.source_parse_errors.set(n);
    }

    pub fn set_source_generation(&self, generation: u64) {
        self.inner.source_generation.set(generation);
    }

    pub fn set_export_warnings(&self, n: u64) {
        self.inner.export_warnings.set(n);
    }

    pub fn inc_export_writes(&self, n: u64) {
        self.inner.export_writes.inc_by(n);
    }

    /// Removes every series labelled with the peer, and its `records` (a peer's name is
    /// its cluster name), so a removed peer does not linger. Call it after the peer's
    /// import task has stopped: a later update would create the series again.
    pub fn forget_peer(&self, name: &str) {
        let mut seen = self.inner.seen();
        let i = &self.inner;
        let labels = peer(name);
        i.peer_connected.remove(&labels);
        i.peer_reachable.remove(&labels);
        i.peer_synced.remove(&labels);
        i.peer_last_heartbeat.remove(&labels);
        i.import_lag.remove(&labels);
        i.import_events.remove(&labels);
        let Some(Seen { kinds, reasons }) = seen.remove(name) else {
            return;
        };
        for kind in kinds {
            i.records.remove(&RecordLabels {
                cluster: name.to_owned(),
                kind,
            });
        }
        for reason in reasons {
            i.import_errors.remove(&ErrorLabels {
                peer: name.to_owned(),
                reason,
            });
        }
    }

    /// The registry in OpenMetrics text format. Empty (and logged) if encoding fails,
    /// which writing into a `String` does not.
    pub fn encode(&self) -> String {
        self.try_encode().unwrap_or_else(|err| {
            tracing::error!(%err, "encoding metrics failed");
            String::new()
        })
    }

    pub(crate) fn try_encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Holds one count in `watch_clients`; see [`Metrics::watch_client_guard`].
#[must_use = "the watch client is counted only while the guard lives"]
#[derive(Debug)]
pub struct WatchClientGuard {
    metrics: Metrics,
    api: &'static str,
}

impl Drop for WatchClientGuard {
    fn drop(&mut self) {
        let labels = ApiLabels { api: self.api };
        self.metrics
            .inner
            .watch_clients
            .get_or_create(&labels)
            .dec();
    }
}
