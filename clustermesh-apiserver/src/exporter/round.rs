//! The exporter loop: one round per change of the source or of the registrations,
//! each round a full recomputation and a diff against what the store holds.

use std::time::Duration;

use bytes::Bytes;
use clustermesh_proto::{RecordKind, SyncedKey, SyncedMarker, cluster_prefix};
use tokio_util::sync::CancellationToken;

use super::{
    Desired, Exporter, desired,
    identities::IdentityCache,
    registrations::{self, RegistrationWatch},
};
use crate::drill::{FaultSet, ServiceRef};
use crate::export::{self, identities::in_use};
use crate::layout::{self, KeyClass};
use crate::report::error_chain;
use crate::store::{Revision, StoreError, WriteOp};

const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Alloc(#[from] export::AllocError),
}

pub(super) struct Runner {
    exporter: Exporter,
    /// What the store holds under our prefix (records only); `None` after an error,
    /// when a write may or may not have been applied, so the next round relists.
    current: Option<Desired>,
    identities: IdentityCache,
    registrations: RegistrationWatch,
    synced: bool,
    writes: u64,
    revision: Revision,
}

impl Runner {
    pub fn new(exporter: Exporter) -> Self {
        let registrations = RegistrationWatch::new(&exporter.config.cluster.name);
        Self {
            exporter,
            current: None,
            identities: IdentityCache::default(),
            registrations,
            synced: false,
            writes: 0,
            revision: 0,
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut gc = tokio::time::interval(self.exporter.config.gc_interval);
        gc.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry = RETRY_MIN;
        loop {
            let outcome = self.round().await;
            let failed = outcome.is_err();
            self.publish(outcome.err().map(|e| error_chain(&e)));
            retry = if failed {
                (retry * 2).min(RETRY_MAX)
            } else {
                RETRY_MIN
            };
            let wait_retry = async {
                match failed {
                    true => tokio::time::sleep(retry).await,
                    false => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = wait_retry => {}
                changed = self.exporter.source.changed() => {
                    if changed.is_err() {
                        tracing::info!("source stopped; exporter ends");
                        return;
                    }
                }
                () = self.registrations.changed() => {}
                // The sender lives as long as the apiserver; a closed one never fires.
                Ok(()) = self.exporter.faults.changed() => {}
                _ = gc.tick() => self.collect_identities().await,
            }
        }
    }

    async fn round(&mut self) -> Result<(), RoundError> {
        let store = self.exporter.store.clone();
        let cluster = self.exporter.config.cluster.name.clone();
        let state = self.exporter.source.borrow_and_update().clone();
        let (registered, revision) = registrations::list(store.as_ref(), &cluster).await?;
        self.registrations
            .ensure_open(store.as_ref(), revision)
            .await?;

        self.identities
            .allocate(&self.exporter.allocator, &in_use(&state.objects))
            .await?;
        let mut plan = plan(&self.identities, &cluster, &state.objects);
        withdraw_faulted(&mut plan, &self.exporter.faults.borrow_and_update());
        let (cluster, desired) = desired::build(&self.exporter.config.cluster, &plan, &registered);

        let current = match self.current.take() {
            Some(current) => current,
            None => self.list_current().await?,
        };
        let ops = desired::diff(&current, &desired);
        if let Err(error) = self.write(ops).await {
            return Err(error.into());
        }
        self.current = Some(desired);
        if !self.synced {
            self.write_markers().await?;
            self.synced = true;
        }
        self.summarize(&state, &plan, cluster);
        Ok(())
    }

    async fn list_current(&mut self) -> Result<Desired, StoreError> {
        let prefix = cluster_prefix(&self.exporter.config.cluster.name);
        let list = self.exporter.store.list(&prefix).await?;
        Ok(list
            .items
            .into_iter()
            .filter(|kv| matches!(layout::classify(&kv.key), Ok(KeyClass::Record(_))))
            .map(|kv| (kv.key, kv.value))
            .collect())
    }

    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let max = self.exporter.store.max_batch_ops().max(1);
        for chunk in ops.chunks(max) {
            self.revision = self.exporter.store.write_batch(chunk.to_vec()).await?;
            self.writes += 1;
        }
        Ok(())
    }

    async fn write_markers(&mut self) -> Result<(), StoreError> {
        let cluster = &self.exporter.config.cluster.name;
        let revision = self.revision;
        let ops = RecordKind::ALL
            .into_iter()
            .map(|kind| WriteOp::Put {
                key: SyncedKey::new(cluster.clone(), kind).to_string(),
                value: marker_value(cluster, kind, revision),
                lease: None,
            })
            .collect();
        self.write(ops).await
    }

    async fn collect_identities(&mut self) {
        let objects = self.exporter.source.borrow().objects.clone();
        let grace = self.exporter.config.gc_grace;
        match self
            .identities
            .collect(&self.exporter.allocator, &in_use(&objects), grace)
            .await
        {
            Ok(0) => {}
            Ok(freed) => tracing::info!(freed, "freed unused identities"),
            Err(error) => tracing::warn!(error = %error_chain(&error), "identity GC failed"),
        }
    }

    fn summarize(
        &mut self,
        state: &crate::source::SourceState,
        plan: &export::ExportPlan,
        cluster: clustermesh_proto::Cluster,
    ) {
        let warnings: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
        let source_errors: Vec<String> = state.errors.iter().map(ToString::to_string).collect();
        let previous = self.exporter.status.borrow().warnings.clone();
        for warning in warnings.iter().filter(|w| !previous.contains(w)) {
            tracing::warn!(%warning, "export warning");
        }
        let counts = [
            (RecordKind::Cluster, 1),
            (RecordKind::Node, plan.nodes.len()),
            (RecordKind::Identity, plan.identities.len()),
            (RecordKind::Endpoint, plan.endpoints.len()),
            (RecordKind::GlobalService, plan.services.len()),
        ];
        self.exporter.status.send_modify(|status| {
            status.cluster = Some(cluster);
            status.counts = counts.into_iter().collect();
            status.warnings = warnings;
            status.source_errors = source_errors;
            status.source_generation = state.generation;
        });
    }

    fn publish(&self, error: Option<String>) {
        if let Some(error) = &error {
            tracing::warn!(%error, "export round failed; retrying");
        }
        self.exporter.status.send_modify(|status| {
            status.synced = self.synced;
            status.revision = self.revision;
            status.writes = self.writes;
            status.last_error = error;
        });
    }
}

fn plan(
    identities: &IdentityCache,
    cluster: &clustermesh_proto::ClusterName,
    objects: &crate::source::ClusterObjects,
) -> export::ExportPlan {
    export::plan(cluster, objects, &|set| identities.get(set))
}

/// A drill's backends fault: the service stays exported, with every backend not
/// ready, exactly as if its pods had all failed their readiness probes.
fn withdraw_faulted(plan: &mut export::ExportPlan, faults: &FaultSet) {
    if faults.is_empty() {
        return;
    }
    for service in &mut plan.services {
        let target = ServiceRef {
            namespace: service.namespace.to_string(),
            name: service.name.to_string(),
        };
        if faults.withdraws(&target) {
            for backend in &mut service.backends {
                backend.ready = false;
                backend.serving = false;
            }
        }
    }
}

fn marker_value(
    cluster: &clustermesh_proto::ClusterName,
    kind: RecordKind,
    revision: Revision,
) -> Bytes {
    layout::encode_synced(&SyncedMarker {
        cluster: cluster.clone(),
        kind,
        revision,
    })
}
