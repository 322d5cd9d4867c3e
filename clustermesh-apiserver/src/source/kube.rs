//! The `kube[:CONTEXT]` source: Services, EndpointSlices, Pods, Nodes, Namespaces and
//! ServiceExports of all namespaces, read through kube-runtime watchers into reflector
//! stores and merged into the [`ClusterObjects`] the manifest source also produces.
//!
//! - **Ready means listed.** The first [`SourceState`] (generation 1) is published once
//!   every resource has completed its initial list; [`KubeSource::start`] waits for that,
//!   bounded, and fails naming the resources still missing and their last error. Serving
//!   an empty cluster instead would withdraw every service it exports.
//! - **A missing ServiceExport CRD is no ServiceExports**, logged once at warn, as Cilium
//!   does. The watcher keeps retrying, so a CRD installed later is picked up.
//! - **Errors after that are not fatal.** Watchers retry with kube-runtime's default
//!   backoff and log; the stores keep the last known objects. A relist (after a `410
//!   Gone`) replaces a store wholesale, so objects deleted meanwhile go away.
//! - **Changes are debounced** (50 ms quiet, at most 250 ms) and published only when the
//!   merged objects differ. Fields no rule reads are stripped first (see `strip`).
//! - [`SourceState::errors`] stays empty: the API server validates objects, so there is
//!   nothing per object to report; API trouble is logged and retried instead.
//!
//! [`ClusterObjects`]: super::ClusterObjects

mod client;
mod error;
mod publish;
mod reflector;
mod service_export;
mod stores;
mod strip;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use error::{KubeSourceError, NotListed};

use super::SourceState;
use reflector::Progress;
use stores::Stores;

/// How long [`KubeSource::start`] waits for the initial lists. Generous: a large cluster's
/// pods take a while to page through, and an unreachable API server is reported at the end
/// with the watchers' last errors.
pub const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// A running Kubernetes source. It owns the watcher and publisher tasks: dropping it stops
/// them, as does `shutdown` or dropping every receiver of the state.
#[derive(Debug)]
#[must_use = "dropping the KubeSource stops watching the Kubernetes API"]
pub struct KubeSource {
    tasks: JoinSet<()>,
}

impl KubeSource {
    /// Starts watching and waits, up to [`READY_TIMEOUT`], for every initial list.
    pub async fn start(
        client: ::kube::Client,
        shutdown: CancellationToken,
    ) -> Result<(Self, watch::Receiver<SourceState>), KubeSourceError> {
        Self::start_with_timeout(client, shutdown, READY_TIMEOUT).await
    }

    /// [`start`](Self::start) with another bound on the initial sync.
    pub async fn start_with_timeout(
        client: ::kube::Client,
        shutdown: CancellationToken,
        ready_timeout: Duration,
    ) -> Result<(Self, watch::Receiver<SourceState>), KubeSourceError> {
        // Ended by `shutdown`, or by the publisher once no one reads the state.
        let stop = shutdown.child_token();
        let progress = Arc::new(Progress::default());
        let mut tasks = JoinSet::new();
        let stores = Stores::spawn(&client, &mut tasks, &progress, &stop);

        let ready = tokio::select! {
            () = shutdown.cancelled() => return Err(KubeSourceError::ShutDown),
            ready = tokio::time::timeout(ready_timeout, stores.wait_until_ready()) => ready,
        };
        match ready {
            Ok(true) => {}
            // A store's writer is gone before shutdown only if its task panicked.
            Ok(false) => return Err(first_failure(tasks, &stop).await),
            Err(_elapsed) => {
                return Err(KubeSourceError::NotReady {
                    timeout: ready_timeout,
                    pending: stores.not_listed(&progress),
                });
            }
        }

        let objects = stores.merged();
        tracing::info!(
            services = objects.services.len(),
            pods = objects.pods.len(),
            nodes = objects.nodes.len(),
            service_exports = objects.service_exports.len(),
            "Kubernetes API listed"
        );
        let (tx, rx) = watch::channel(SourceState {
            objects: Arc::new(objects),
            errors: Vec::new(),
            generation: 1,
        });
        let span = tracing::info_span!("kube_publish");
        tasks.spawn(publish::run(stores, progress, tx, stop).instrument(span));
        Ok((Self { tasks }, rx))
    }

    /// A client for `context` of the kubeconfig (`KUBECONFIG`, else `~/.kube/config`).
    /// Without a context: the kubeconfig's current context, else the pod's service account,
    /// as `kube::Config::infer` does. A named context never falls back.
    pub async fn client_for_context(
        context: Option<&str>,
    ) -> Result<::kube::Client, KubeSourceError> {
        client::for_context(context).await
    }

    /// Waits for every task to end: after shutdown, or once every receiver of the state
    /// has been dropped. An error means a task panicked.
    pub async fn stopped(mut self) -> Result<(), KubeSourceError> {
        while let Some(result) = self.tasks.join_next().await {
            result?;
        }
        Ok(())
    }
}

/// The first panic among `tasks`, once all have ended.
async fn first_failure(mut tasks: JoinSet<()>, stop: &CancellationToken) -> KubeSourceError {
    stop.cancel();
    let mut failure = KubeSourceError::ShutDown;
    while let Some(result) = tasks.join_next().await {
        if let (Err(err), KubeSourceError::ShutDown) = (result, &failure) {
            failure = KubeSourceError::Task(err);
        }
    }
    failure
}

#[cfg(test)]
mod tests;
