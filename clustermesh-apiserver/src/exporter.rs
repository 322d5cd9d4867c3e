//! Keeps this cluster's prefix in the store equal to what its source says, merged with
//! what its agents registered. It writes only differences, in batches the backend
//! takes, and writes the synced markers once the first export is complete.

mod desired;
mod identities;
mod records;
mod registrations;
mod round;
mod writer;

#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use clustermesh_proto::{Cluster, RecordKind};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::drill::FaultSet;
use crate::export::IdentityAllocator;
use crate::source::SourceState;
use crate::store::{Revision, Store};

pub use desired::{Desired, build as build_desired};

#[derive(Debug, Clone)]
pub struct ExporterConfig {
    /// This cluster: name, id, advertise address and declared pod CIDRs (may be empty).
    pub cluster: Cluster,
    /// How often unused identities are looked for.
    pub gc_interval: Duration,
    /// How long an identity must stay unused before it is freed: longer than a rollout,
    /// so pods coming back keep their id.
    pub gc_grace: Duration,
}

impl ExporterConfig {
    pub fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            gc_interval: Duration::from_secs(60),
            gc_grace: Duration::from_secs(10 * 60),
        }
    }
}

/// What the exporter last did, for status, metrics and readiness.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportStatus {
    /// The first export is complete and the synced markers are written.
    pub synced: bool,
    /// This cluster as exported (pod CIDRs filled in from nodes if none were declared).
    pub cluster: Option<Cluster>,
    pub counts: BTreeMap<RecordKind, usize>,
    /// Export warnings of the last round, e.g. an unknown affinity value.
    pub warnings: Vec<String>,
    /// Source problems (files that fail to parse) in force during the last round.
    pub source_errors: Vec<String>,
    pub source_generation: u64,
    /// The store revision of the last write.
    pub revision: Revision,
    /// Store writes so far.
    pub writes: u64,
    /// The error of the last round, cleared by the next good one.
    pub last_error: Option<String>,
}

pub struct Exporter {
    store: Arc<dyn Store>,
    config: ExporterConfig,
    allocator: IdentityAllocator,
    source: watch::Receiver<SourceState>,
    status: watch::Sender<ExportStatus>,
    /// Drill faults: a service whose backends are withdrawn is exported with every
    /// backend not ready.
    faults: watch::Receiver<FaultSet>,
}

impl Exporter {
    pub fn new(
        store: Arc<dyn Store>,
        config: ExporterConfig,
        source: watch::Receiver<SourceState>,
    ) -> (Self, watch::Receiver<ExportStatus>) {
        let allocator = IdentityAllocator::new(
            store.clone(),
            config.cluster.name.clone(),
            config.cluster.id,
        );
        let (status, rx) = watch::channel(ExportStatus::default());
        let exporter = Self {
            store,
            config,
            allocator,
            source,
            status,
            faults: watch::channel(FaultSet::default()).1,
        };
        (exporter, rx)
    }

    /// Follows drill faults (see [`crate::drill`]).
    pub fn with_faults(mut self, faults: watch::Receiver<FaultSet>) -> Self {
        self.faults = faults;
        self
    }

    /// Exports until `shutdown`. Store errors are retried with backoff and shown in the
    /// status; the last good export stays in the store meanwhile.
    pub async fn run(self, shutdown: CancellationToken) {
        round::Runner::new(self).run(shutdown).await;
    }
}
