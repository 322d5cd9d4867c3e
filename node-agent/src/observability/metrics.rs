//! The agent's Prometheus registry. Durations and errors are ordinary families; the
//! dataplane gauges are encoded from the latest [`DataplaneStatus`] at scrape time, so
//! a peer or cluster that went away simply stops being reported (no stale series).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use clustermesh_proto::RecordKind;

use super::DataplaneStatus;

/// 100 µs to 10 s: planning is sub-millisecond, an apply through `nft` and the
/// WireGuard socket takes milliseconds, a stuck one seconds.
const DURATION_BUCKETS: [f64; 12] = [
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 1.0, 10.0,
];

/// Cheap to clone; every clone updates the same registry.
#[derive(Clone)]
pub struct AgentMetrics {
    registry: Arc<Registry>,
    plan_seconds: Histogram,
    apply_seconds: Histogram,
    apply_errors: Counter,
    changes_applied: Counter,
    dataplane: Arc<DataplaneGauges>,
}

impl Default for AgentMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("clustermesh_agent");
        let plan_seconds = Histogram::new(DURATION_BUCKETS);
        let apply_seconds = Histogram::new(DURATION_BUCKETS);
        let apply_errors = Counter::default();
        let changes_applied = Counter::default();
        let dataplane = Arc::new(DataplaneGauges::default());
        registry.register_with_unit(
            "plan_duration",
            "Time to compute the desired dataplane from the merged view",
            Unit::Seconds,
            plan_seconds.clone(),
        );
        registry.register_with_unit(
            "apply_duration",
            "Time to read back the dataplane, diff it and apply the changes",
            Unit::Seconds,
            apply_seconds.clone(),
        );
        registry.register(
            "apply_errors",
            "Reconciliations whose apply failed (retried at the next change or resync)",
            apply_errors.clone(),
        );
        registry.register(
            "changes_applied",
            "Dataplane changes applied (peers, routes, services)",
            changes_applied.clone(),
        );
        registry.register_collector(Box::new(dataplane.clone()));
        Self {
            registry: Arc::new(registry),
            plan_seconds,
            apply_seconds,
            apply_errors,
            changes_applied,
            dataplane,
        }
    }

    pub fn observe_plan(&self, took: Duration) {
        self.plan_seconds.observe(took.as_secs_f64());
    }

    pub fn observe_apply(&self, took: Duration, result: Result<usize, ()>) {
        self.apply_seconds.observe(took.as_secs_f64());
        match result {
            Ok(changes) => {
                self.changes_applied.inc_by(changes as u64);
            }
            Err(()) => {
                self.apply_errors.inc();
            }
        }
    }

    /// The merged view's size, by record kind: what the agent holds for the whole mesh.
    pub fn set_view_records(&self, counts: BTreeMap<RecordKind, usize>) {
        *self
            .dataplane
            .view_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = counts;
    }

    pub fn set_dataplane(&self, status: DataplaneStatus) {
        *self
            .dataplane
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = status;
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &self.registry)?;
        Ok(body)
    }
}

#[derive(Debug, Default)]
struct DataplaneGauges {
    status: Mutex<DataplaneStatus>,
    view_records: Mutex<BTreeMap<RecordKind, usize>>,
}

impl Collector for DataplaneGauges {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self
            .status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let view_records = self
            .view_records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let gauge = |n: usize| ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));

        let mut family = encoder.encode_descriptor(
            "view_records",
            "Records in the merged view, every cluster's, per kind.",
            None,
            MetricType::Gauge,
        )?;
        for (kind, n) in view_records {
            gauge(n).encode(family.encode_family(&[("kind", kind.as_str())])?)?;
        }

        let mut family = encoder.encode_descriptor(
            "tunnel_peers",
            "WireGuard peers planned, per remote cluster.",
            None,
            MetricType::Gauge,
        )?;
        for (cluster, n) in status.peers_per_cluster() {
            gauge(n).encode(family.encode_family(&[("cluster", cluster)])?)?;
        }

        let unit = Unit::Seconds;
        let mut family = encoder.encode_descriptor(
            "tunnel_handshake_age",
            "Time since the latest WireGuard handshake with each peer (absent: none yet).",
            Some(&unit),
            MetricType::Gauge,
        )?;
        for peer in &status.peers {
            if let Some(age) = peer.handshake_age {
                let labels = [("cluster", &peer.cluster), ("node", &peer.node)];
                ConstGauge::new(age.as_secs_f64()).encode(family.encode_family(&labels)?)?;
            }
        }

        let family = encoder.encode_descriptor(
            "tunnel_peers_up",
            "WireGuard peers with a handshake in the last 180 s.",
            None,
            MetricType::Gauge,
        )?;
        gauge(status.peers.iter().filter(|p| p.is_up()).count()).encode(family)?;

        let family = encoder.encode_descriptor(
            "routes",
            "Routes to remote pod CIDRs via the WireGuard interface.",
            None,
            MetricType::Gauge,
        )?;
        gauge(status.routes).encode(family)?;

        let family = encoder.encode_descriptor(
            "services",
            "Global-service frontends (VIP, port, protocol) programmed.",
            None,
            MetricType::Gauge,
        )?;
        gauge(status.services).encode(family)?;

        let family = encoder.encode_descriptor(
            "services_without_backends",
            "Global services with no healthy backend: they reject connections.",
            None,
            MetricType::Gauge,
        )?;
        gauge(status.services_without_backends).encode(family)?;

        let mut family = encoder.encode_descriptor(
            "backends",
            "Selected backends over every frontend, per cluster they run in.",
            None,
            MetricType::Gauge,
        )?;
        for (cluster, n) in &status.backends_per_cluster {
            gauge(*n).encode(family.encode_family(&[("cluster", cluster)])?)?;
        }
        Ok(())
    }
}
