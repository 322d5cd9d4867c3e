//! One watcher per resource, feeding a reflector store. Errors are logged and retried with
//! kube-runtime's default backoff (0.8 s doubling to 30 s, jittered); the store keeps the
//! last known objects meanwhile.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};

use ::kube::Api;
use ::kube::runtime::reflector::store::Writer;
use ::kube::runtime::utils::Backoff;
use ::kube::runtime::watcher::{self, DefaultBackoff, Event};
use ::kube::runtime::{WatchStreamExt, watcher as watch_resource};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What the reflectors tell the publisher and `start`.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Signalled after every change of a store; permits coalesce.
    pub(crate) changed: Notify,
    /// The latest error per resource, cleared by the next successful event; it explains a
    /// resource that never finishes its initial list.
    last_errors: Mutex<BTreeMap<&'static str, String>>,
}

impl Progress {
    pub(crate) fn last_error(&self, resource: &str) -> Option<String> {
        let errors = self
            .last_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        errors.get(resource).cloned()
    }

    fn set_error(&self, resource: &'static str, error: Option<String>) {
        let mut errors = self
            .last_errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match error {
            Some(error) => errors.insert(resource, error),
            None => errors.remove(resource),
        };
    }
}

/// How one resource is watched.
pub(crate) struct Reflector<K: ::kube::Resource + Clone + 'static>
where
    K::DynamicType: Eq + Hash + Clone,
{
    pub(crate) resource: &'static str,
    pub(crate) api: Api<K>,
    pub(crate) writer: Writer<K>,
    pub(crate) strip: fn(&mut K),
    /// A 404 means the CRD is not installed: record an empty list rather than never
    /// becoming ready. The watcher keeps retrying, so a CRD installed later is picked up.
    pub(crate) optional_crd: bool,
}

impl<K> Reflector<K>
where
    K: ::kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    /// Runs until `stop`. The store's `Writer` is driven here rather than through
    /// `reflector()`, which adds nothing for an unshared store, so that a missing CRD can
    /// be written as an empty initial list.
    pub(crate) async fn run(self, progress: Arc<Progress>, stop: CancellationToken) {
        let Self {
            resource,
            api,
            mut writer,
            strip,
            optional_crd,
        } = self;
        let mut events = pin!(watch_resource(api, watcher::Config::default()).modify(strip));
        // Not `default_backoff()`: its wrapper resets on every `Ok`, and the watcher yields
        // `Ok(Init)` before each list attempt, so a list that keeps failing would be retried
        // at the minimum delay forever. Only real progress resets this one.
        let mut backoff = DefaultBackoff::default();
        let mut crd_missing = false;
        loop {
            let event = tokio::select! {
                () = stop.cancelled() => break,
                event = events.next() => event,
            };
            match event {
                // `Init` only announces a list attempt: it proves nothing about the API,
                // and the store does not change until `InitDone`.
                Some(Ok(Event::Init)) => writer.apply_watcher_event(&Event::Init),
                Some(Ok(event)) => {
                    if std::mem::take(&mut crd_missing) {
                        tracing::info!("the CRD is installed now");
                    }
                    backoff.reset();
                    progress.set_error(resource, None);
                    writer.apply_watcher_event(&event);
                    if !matches!(event, Event::InitApply(_)) {
                        progress.changed.notify_one();
                    }
                }
                Some(Err(err)) if optional_crd && is_not_found(&err) => {
                    if !crd_missing {
                        tracing::warn!(
                            "the CRD is not installed (404); treating it as no objects until it is"
                        );
                        crd_missing = true;
                    }
                    progress.set_error(resource, None);
                    writer.apply_watcher_event(&Event::Init);
                    writer.apply_watcher_event(&Event::InitDone);
                    progress.changed.notify_one();
                    if !pause(&mut backoff, &stop).await {
                        break;
                    }
                }
                Some(Err(err)) => {
                    log_error(&err);
                    progress.set_error(resource, Some(err.to_string()));
                    if !pause(&mut backoff, &stop).await {
                        break;
                    }
                }
                None => break,
            }
        }
        tracing::debug!("watcher stopped");
    }
}

/// Waits out the next backoff delay before the watcher is polled (and retries) again.
/// False on `stop`.
async fn pause(backoff: &mut DefaultBackoff, stop: &CancellationToken) -> bool {
    let Some(delay) = backoff.next() else {
        return true;
    };
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

fn is_not_found(err: &watcher::Error) -> bool {
    match err {
        watcher::Error::InitialListFailed(::kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(::kube::Error::Api(status)) => status.is_not_found(),
        _ => false,
    }
}

/// An expired watch is routine (the watcher relists); anything else is worth a warning,
/// and the backoff bounds how often it repeats.
fn log_error(err: &watcher::Error) {
    match err {
        watcher::Error::WatchError(status) if status.code == 410 => {
            tracing::info!(error = %err, "watch expired; relisting");
        }
        _ => tracing::warn!(error = %err, "Kubernetes watch failed; retrying with backoff"),
    }
}
