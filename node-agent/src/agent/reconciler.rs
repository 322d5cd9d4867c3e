//! The reconcile loop: plan and converge on every view change and every [`RESYNC`];
//! between them, refresh handshake ages every [`STATUS_REFRESH`] for metrics and for
//! the tunnel report that heartbeats carry.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clustermesh_proto::pb;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::observability::{AgentMetrics, Condition, DataplaneStatus, Health};
use crate::plan::{DesiredState, LocalNode, PlanConfig};
use crate::reconcile::{Dataplane, converge, planned};
use crate::view::MergedView;

/// How often the dataplane is reconciled even when nothing changed (repairs drift).
pub const RESYNC: Duration = Duration::from_secs(30);
/// How often handshake ages are read back between reconciliations.
pub const STATUS_REFRESH: Duration = Duration::from_secs(5);

pub(super) struct Reconciler {
    pub me: LocalNode,
    pub config: PlanConfig,
    pub dataplane: Dataplane,
    pub metrics: AgentMetrics,
    pub health: Health,
    pub tunnel_report: watch::Sender<Option<pb::TunnelReport>>,
}

impl Reconciler {
    pub async fn run(
        self,
        mut view: watch::Receiver<MergedView>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut resync = tokio::time::interval(RESYNC);
        resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut refresh = tokio::time::interval(STATUS_REFRESH);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut applied: Option<DesiredState> = None;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                changed = view.changed() => changed.context("view closed")?,
                // A resync reads the dataplane afresh, so drift is repaired within RESYNC.
                _ = resync.tick() => self.dataplane.services.refresh().await,
                _ = refresh.tick() => {
                    if let Some(desired) = &applied {
                        self.publish(desired).await;
                    }
                    continue;
                }
            }
            // Planned under the borrow (pure and quick); applied after it is released,
            // so the watcher is never blocked by a slow apply.
            let started = Instant::now();
            let desired = {
                let view = view.borrow_and_update();
                self.health
                    .set(Condition::ViewSynced, view.is_initialized());
                self.metrics.set_view_records(view.record_counts());
                planned(&view, &self.me, &self.config)
            };
            let Some(desired) = desired else { continue };
            self.metrics.observe_plan(started.elapsed());

            let started = Instant::now();
            let result = converge(&desired, &self.dataplane).await;
            let took = started.elapsed();
            self.health.set(Condition::DataplaneApplied, result.is_ok());
            match result {
                Ok(changes) => {
                    self.metrics.observe_apply(took, Ok(changes.len()));
                    if !changes.is_empty() {
                        tracing::info!(changes = changes.len(), ?took, "dataplane updated");
                    }
                }
                // Retried at the next change or resync; what was applied stays applied.
                Err(error) => {
                    self.metrics.observe_apply(took, Err(()));
                    tracing::warn!(%error, "applying the plan failed");
                }
            }
            self.publish(&desired).await;
            applied = Some(desired);
        }
    }

    /// Status against the plan last converged to, with fresh handshake ages.
    async fn publish(&self, desired: &DesiredState) {
        let handshakes = match self.dataplane.tunnels.handshake_ages().await {
            Ok(ages) => ages,
            Err(error) => {
                tracing::warn!(%error, "reading handshakes failed");
                Default::default()
            }
        };
        let status = DataplaneStatus::new(desired, &handshakes);
        self.tunnel_report
            .send_replace(Some(status.tunnel_report()));
        self.metrics.set_dataplane(status);
    }
}
