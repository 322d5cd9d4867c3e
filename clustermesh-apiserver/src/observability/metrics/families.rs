//! The metric families, their label sets and their registration.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PeerLabels {
    pub(super) peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RecordLabels {
    pub(super) cluster: String,
    pub(super) kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ErrorLabels {
    pub(super) peer: String,
    pub(super) reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ApiLabels {
    pub(super) api: &'static str,
}

pub(super) type U64Gauge = Gauge<u64, AtomicU64>;

/// Label values under a peer that `forget_peer` cannot derive from the name alone, since
/// `Family` cannot be iterated.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) kinds: BTreeSet<String>,
    pub(super) reasons: BTreeSet<&'static str>,
}

pub(super) struct Inner {
    pub(super) registry: Registry,
    pub(super) records: Family<RecordLabels, U64Gauge>,
    pub(super) peer_connected: Family<PeerLabels, Gauge>,
    pub(super) peer_reachable: Family<PeerLabels, Gauge>,
    pub(super) peer_synced: Family<PeerLabels, Gauge>,
    pub(super) peer_last_heartbeat: Family<PeerLabels, Gauge<f64, AtomicU64>>,
    pub(super) import_lag: Family<PeerLabels, Histogram, fn() -> Histogram>,
    pub(super) import_events: Family<PeerLabels, Counter>,
    pub(super) import_errors: Family<ErrorLabels, Counter>,
    pub(super) watch_clients: Family<ApiLabels, Gauge>,
    pub(super) source_parse_errors: U64Gauge,
    pub(super) source_generation: U64Gauge,
    pub(super) export_warnings: U64Gauge,
    pub(super) export_writes: Counter,
    /// Held while creating or removing a `records` or `import_errors` series, so the
    /// bookkeeping and the families never disagree.
    seen: Mutex<HashMap<String, Seen>>,
}

/// 1 ms to 10 s, exponential at three buckets per decade. Written out rather than
/// computed, since `exponential_buckets_range` yields bounds such as
/// `le="0.010000000000000002"` that no query would guess.
const IMPORT_LAG_BUCKETS: [f64; 13] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

fn import_lag_histogram() -> Histogram {
    Histogram::new(IMPORT_LAG_BUCKETS)
}

impl Inner {
    /// All families, registered under the `clustermesh_` prefix.
    pub(super) fn new() -> Self {
        let mut inner = Self {
            registry: Registry::with_prefix("clustermesh"),
            records: Family::default(),
            peer_connected: Family::default(),
            peer_reachable: Family::default(),
            peer_synced: Family::default(),
            peer_last_heartbeat: Family::default(),
            import_lag: Family::new_with_constructor(import_lag_histogram),
            import_events: Family::default(),
            import_errors: Family::default(),
            watch_clients: Family::default(),
            source_parse_errors: U64Gauge::default(),
            source_generation: U64Gauge::default(),
            export_warnings: U64Gauge::default(),
            export_writes: Counter::default(),
            seen: Mutex::default(),
        };
        inner.register_all();
        inner
    }

    fn register_all(&mut self) {
        let r = &mut self.registry;
        r.register(
            "records",
            "Records in the local store, per cluster and kind",
            self.records.clone(),
        );
        r.register(
            "peer_connected",
            "1 while the watch stream to the peer is open",
            self.peer_connected.clone(),
        );
        r.register(
            "peer_reachable",
            "1 while the peer's heartbeats arrive in time",
            self.peer_reachable.clone(),
        );
        r.register(
            "peer_synced",
            "1 once every kind from the peer is synced",
            self.peer_synced.clone(),
        );
        r.register_with_unit(
            "peer_last_heartbeat_timestamp",
            "Unix time of the last heartbeat received from the peer",
            Unit::Seconds,
            self.peer_last_heartbeat.clone(),
        );
        r.register_with_unit(
            "import_lag",
            "Time from a peer's event or heartbeat timestamp to applied locally",
            Unit::Seconds,
            self.import_lag.clone(),
        );
        r.register(
            "import_events",
            "Events imported from the peer",
            self.import_events.clone(),
        );
        r.register(
            "import_errors",
            "Import errors from the peer, by reason",
            self.import_errors.clone(),
        );
        r.register(
            "watch_clients",
            "Open watch streams, by API (mesh or peer)",
            self.watch_clients.clone(),
        );
        r.register(
            "source_parse_errors",
            "Source files currently failing to parse",
            self.source_parse_errors.clone(),
        );
        r.register(
            "source_generation",
            "Generation of the current source snapshot",
            self.source_generation.clone(),
        );
        r.register(
            "export_warnings",
            "Warnings in the current export plan",
            self.export_warnings.clone(),
        );
        r.register(
            "export_writes",
            "Export writes to the store",
            self.export_writes.clone(),
        );
    }

    pub(super) fn seen(&self) -> MutexGuard<'_, HashMap<String, Seen>> {
        // The map only mirrors label values; a panic elsewhere cannot leave it invalid.
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) fn peer(peer: &str) -> PeerLabels {
    PeerLabels {
        peer: peer.to_owned(),
    }
}
