//! The publisher task: store changes in, debounced merges, new [`SourceState`]s out.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::reflector::Progress;
use super::stores::Stores;
use crate::source::SourceState;

/// As in the manifest source: a rollout touches many pods and slices within a few ms.
const QUIET: Duration = Duration::from_millis(50);
/// Upper bound on the debounce, so that steady churn is still published promptly.
const MAX_DELAY: Duration = Duration::from_millis(250);

/// Runs until `stop`, or until every receiver of the state is gone; either way it cancels
/// `stop` on the way out so the reflectors end with it.
pub(crate) async fn run(
    stores: Stores,
    progress: Arc<Progress>,
    tx: watch::Sender<SourceState>,
    stop: CancellationToken,
) {
    let _stop_reflectors = stop.clone().drop_guard();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tx.closed() => break,
            () = progress.changed.notified() => {}
        }
        if !debounce(&progress, &stop).await {
            break;
        }
        publish(&stores, &tx);
    }
    tracing::debug!("kube source publisher stopped");
}

/// Waits until the stores are quiet. False on shutdown.
async fn debounce(progress: &Progress, stop: &CancellationToken) -> bool {
    let limit = Instant::now() + MAX_DELAY;
    loop {
        let quiet = (Instant::now() + QUIET).min(limit);
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep_until(quiet) => return true,
            () = progress.changed.notified() => {}
        }
    }
}

/// Publishes the merged stores if they differ from what was last published.
fn publish(stores: &Stores, tx: &watch::Sender<SourceState>) {
    let objects = stores.merged();
    let generation = {
        let current = tx.borrow();
        if *current.objects == objects {
            return;
        }
        current.generation + 1
    };
    tracing::debug!(generation, "Kubernetes objects changed");
    tx.send_replace(SourceState {
        objects: Arc::new(objects),
        errors: Vec::new(),
        generation,
    });
}
