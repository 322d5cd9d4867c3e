//! The exporter loop: one round per change of the source or of the registrations.
//! Pods go through an [`EndpointIndex`] that re-derives only the changed ones; nodes
//! and services, a few thousand at most, are rebuilt. A round writes the records that
//! changed since its last write, or, after a failed write, the difference from a fresh
//! listing of the store.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use clustermesh_proto::{RecordKind, SyncedKey, SyncedMarker, cluster_prefix};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    Desired, Exporter, desired,
    identities::IdentityCache,
    records::RebuiltRecords,
    registrations::{self, RegistrationWatch},
    writer::RoundWriter,
};
use crate::drill::{FaultSet, ServiceRef};
use crate::export::{self, EndpointIndex, RecordChange};
use crate::layout::{self, KeyClass};
use crate::report::error_chain;
use crate::store::{Revision, StoreError, WriteOp};

const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Chunks of records the index may run ahead of the store by.
const CHUNKS_AHEAD: usize = 4;
/// Records per chunk when every record is written again.
const RECORDS_PER_CHUNK: usize = 8192;

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Alloc(#[from] export::AllocError),
}

pub(super) struct Runner {
    exporter: Exporter,
    /// The desired endpoints and identities.
    index: EndpointIndex,
    /// The desired cluster, node and service records.
    rebuilt: RebuiltRecords,
    /// The store held what the exporter last wrote. Not so before the first write, nor
    /// after a failed one, which may or may not have been applied: the next round then
    /// diffs everything desired against a fresh listing.
    in_sync: bool,
    /// The index has resolved before, so its changes are no longer all its records.
    resolved: bool,
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
            index: EndpointIndex::new(exporter.config.cluster.name.clone()),
            exporter,
            rebuilt: RebuiltRecords::default(),
            in_sync: false,
            resolved: false,
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
        let started = std::time::Instant::now();
        let store = self.exporter.store.clone();
        let cluster = self.exporter.config.cluster.name.clone();
        let state = self.exporter.source.borrow_and_update().clone();
        let (registered, revision) = registrations::list(store.as_ref(), &cluster).await?;
        self.registrations
            .ensure_open(store.as_ref(), revision)
            .await?;

        let objects = state.objects.clone();
        self.off_workers(move |index, _| index.observe(&objects.pods))
            .await;
        let observed = started.elapsed();
        self.identities
            .allocate(&self.exporter.allocator, self.index.label_sets())
            .await?;
        let allocated = started.elapsed();
        let mut plan = export::plan_without_pods(&cluster, &state.objects);
        withdraw_faulted(&mut plan, &self.exporter.faults.borrow_and_update());
        let (cluster, rebuilt) = desired::build(&self.exporter.config.cluster, &plan, &registered);
        self.rebuilt.replace(rebuilt);

        let first_resolve = !std::mem::replace(&mut self.resolved, true);
        let mut writer = match self.in_sync {
            true => RoundWriter::changes(store.clone()),
            false => RoundWriter::against(store.clone(), self.list_current().await?),
        };
        // Whatever happens from here, the store may hold part of this round.
        let in_sync = std::mem::replace(&mut self.in_sync, false);
        let rebuilt_ops: Vec<WriteOp> = match in_sync {
            true => self.rebuilt.ops(),
            false => (self.rebuilt.all().iter())
                .map(|(key, value)| WriteOp::Put {
                    key: key.clone(),
                    value: value.clone(),
                    lease: None,
                })
                .collect(),
        };
        for op in rebuilt_ops {
            writer.op(op).await?;
        }
        // Against a listing every record is desired: the changes since a first resolve
        // are all of them, any later resolve's are not.
        let every_record = !in_sync && !first_resolve;
        let (chunks, mut incoming) = mpsc::channel(CHUNKS_AHEAD);
        let resolving = self.off_workers(move |index, identities| {
            let mut emit = |chunk: Vec<RecordChange>| {
                // A closed channel means the write failed; the round fails with it.
                let _ = chunks.blocking_send(chunk);
            };
            let resolve = |set: &_| identities.get(set);
            match every_record {
                false => index.resolve_into(&resolve, &mut emit),
                true => {
                    drop(index.resolve(&resolve));
                    let records = index
                        .records()
                        .map(|(key, value)| RecordChange::Put { key, value });
                    let mut records = records.peekable();
                    while records.peek().is_some() {
                        emit(records.by_ref().take(RECORDS_PER_CHUNK).collect());
                    }
                }
            }
        });
        let writing = async move {
            while let Some(chunk) = incoming.recv().await {
                for change in chunk {
                    writer.op(into_op(change)).await?;
                }
            }
            writer.finish().await
        };
        let ((), written) = tokio::join!(resolving, writing);
        let written = written?;
        let resolved = started.elapsed();
        self.writes += written.batches;
        if let Some(revision) = written.revision {
            self.revision = revision;
        }
        self.rebuilt.written();
        self.in_sync = true;
        if !self.synced {
            self.write_markers().await?;
            self.synced = true;
        }
        self.summarize(&state, &plan, cluster);
        tracing::debug!(
            writes = written.ops,
            observe_ms = observed.as_millis(),
            allocate_ms = (allocated - observed).as_millis(),
            resolve_and_write_ms = (resolved - allocated).as_millis(),
            "export round"
        );
        Ok(())
    }

    /// Runs `work` on the index on tokio's blocking pool: a first round over a million
    /// pods is seconds of CPU, which on an async worker would hold back the feeds,
    /// imports and heartbeats queued behind it. A panic in `work` is resumed here.
    async fn off_workers<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut EndpointIndex, &IdentityCache) -> T + Send + 'static,
    ) -> T {
        let empty = EndpointIndex::new(self.exporter.config.cluster.name.clone());
        let mut index = std::mem::replace(&mut self.index, empty);
        let identities = std::mem::take(&mut self.identities);
        let joined = tokio::task::spawn_blocking(move || {
            let out = work(&mut index, &identities);
            (index, identities, out)
        })
        .await;
        match joined {
            Ok((index, identities, out)) => {
                self.index = index;
                self.identities = identities;
                out
            }
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                // Only a runtime shutting down cancels blocking work, and it drops this
                // round with it.
                Err(e) => panic!("export round's blocking work: {e}"),
            },
        }
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
        let max = self.exporter.store.max_batch_ops();
        for batch in crate::store::in_batches(ops, max) {
            self.revision = self.exporter.store.write_batch(batch).await?;
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
        // The sets of the last round: one that appeared since is allocated by the next.
        let in_use = self.index.label_sets().cloned().collect();
        let grace = self.exporter.config.gc_grace;
        match self
            .identities
            .collect(&self.exporter.allocator, &in_use, grace)
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
        let warnings: Vec<String> = (plan.warnings.iter())
            .chain(&self.index.warnings())
            .map(ToString::to_string)
            .collect();
        let source_errors: Vec<String> = state.errors.iter().map(ToString::to_string).collect();
        let previous: BTreeSet<String> = self
            .exporter
            .status
            .borrow()
            .warnings
            .iter()
            .cloned()
            .collect();
        for warning in warnings.iter().filter(|w| !previous.contains(*w)) {
            tracing::warn!(%warning, "export warning");
        }
        let counts = [
            (RecordKind::Cluster, 1),
            (RecordKind::Node, plan.nodes.len()),
            (RecordKind::Identity, self.index.identity_count()),
            (RecordKind::Endpoint, self.index.endpoint_count()),
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

fn into_op(change: RecordChange) -> WriteOp {
    match change {
        RecordChange::Put { key, value } => WriteOp::Put {
            key,
            value,
            lease: None,
        },
        RecordChange::Delete(key) => WriteOp::Delete { key },
    }
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
