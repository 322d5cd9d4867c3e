//! One reconciliation: read back what the executors have programmed, plan against the
//! desired state, apply the plan in its order. Restart safety comes from here: the
//! agent never flushes, it diffs against what it finds.

use std::sync::Arc;

use crate::exec::{ExecError, Flows, LostBackends, Routes, ServiceUpdate, Services, Tunnels};
use crate::plan::{Change, DesiredState, LocalNode, ObservedState, PlanConfig, desired, diff};
use crate::view::MergedView;

/// The executors of a node.
#[derive(Clone)]
pub struct Dataplane {
    pub tunnels: Arc<dyn Tunnels>,
    pub routes: Arc<dyn Routes>,
    pub services: Arc<dyn Services>,
    pub flows: Arc<dyn Flows>,
}

impl Dataplane {
    pub async fn observe(&self) -> Result<ObservedState, ExecError> {
        Ok(ObservedState {
            peers: self.tunnels.observe().await?,
            routes: self.routes.observe().await?,
            services: self.services.observe().await?,
        })
    }

    /// Applies `changes` in order. Service changes, which the planner puts after the
    /// tunnels and routes, go to the load balancer as one atomic update; the flows they
    /// orphan are forgotten after it.
    pub async fn apply(&self, changes: &[Change]) -> Result<(), ExecError> {
        let mut services = ServiceUpdate::default();
        let mut lost = LostBackends::new();
        for change in changes {
            match change {
                Change::AddPeer(key, peer) | Change::UpdatePeer(key, peer) => {
                    self.tunnels.set_peer(key, peer).await?;
                }
                Change::RemovePeer(key) => self.tunnels.remove_peer(key).await?,
                Change::AddRoute(cidr) => self.routes.add(cidr).await?,
                Change::RemoveRoute(cidr) => self.routes.remove(cidr).await?,
                Change::SetService(frontend, backends) => {
                    services.set.insert(*frontend, backends.clone());
                }
                Change::RemoveService(frontend) => {
                    services.remove.insert(*frontend);
                }
                Change::ForgetFlows(frontend, backends) => {
                    lost.insert(*frontend, backends.clone());
                }
            }
        }
        if services != ServiceUpdate::default() {
            self.services.apply(&services).await?;
        }
        if !lost.is_empty() {
            // The rules are already right; a flow left behind only waits out its
            // conntrack timeout, so a failure here is reported, not retried.
            match self.flows.forget(&lost).await {
                Ok(0) => {}
                Ok(forgotten) => tracing::info!(
                    frontends = lost.len(),
                    forgotten,
                    "forgot flows to backends their services no longer have"
                ),
                Err(error) => tracing::warn!(%error, "forgetting flows failed"),
            }
        }
        Ok(())
    }
}

/// Brings the dataplane to what `view` asks for and returns what it changed. Nothing is
/// planned until the view holds a complete snapshot: planning from an empty view would
/// tear down every tunnel and service.
pub async fn reconcile(
    view: &MergedView,
    me: &LocalNode,
    config: &PlanConfig,
    dataplane: &Dataplane,
) -> Result<Vec<Change>, ExecError> {
    match planned(view, me, config) {
        Some(desired) => converge(&desired, dataplane).await,
        None => Ok(Vec::new()),
    }
}

/// The desired state, once the view holds a complete snapshot.
pub fn planned(view: &MergedView, me: &LocalNode, config: &PlanConfig) -> Option<DesiredState> {
    view.is_initialized()
        .then(|| desired::compute(view, me, config))
}

/// Brings the dataplane to `desired` by diff against what it holds.
pub async fn converge(
    desired: &DesiredState,
    dataplane: &Dataplane,
) -> Result<Vec<Change>, ExecError> {
    let observed = dataplane.observe().await?;
    let changes = diff::plan(desired, &observed);
    dataplane.apply(&changes).await?;
    Ok(changes)
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
