//! The source against a scripted fake API server (see `fake_api`): lists, watch events,
//! a missing CRD, expired watches, failing lists and shutdown.

mod fake_api;
mod fixtures;
mod wire;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::*;
use fake_api::{Cluster, FakeApi};
use fixtures::*;

/// Generous: a relist waits out kube-runtime's backoff (0.8–1.6 s) on a busy machine.
const DEADLINE: Duration = Duration::from_secs(20);

async fn start(
    cluster: Cluster,
) -> (
    FakeApi,
    KubeSource,
    watch::Receiver<SourceState>,
    CancellationToken,
) {
    let (api, client) = FakeApi::start(cluster);
    let shutdown = CancellationToken::new();
    let started = tokio::time::timeout(DEADLINE, KubeSource::start(client, shutdown.clone())).await;
    let (source, rx) = started
        .expect("ready within the deadline")
        .expect("source starts");
    (api, source, rx, shutdown)
}

/// Waits for the next published state and checks that it is exactly one generation on.
async fn next_state(rx: &mut watch::Receiver<SourceState>) -> SourceState {
    let before = rx.borrow_and_update().generation;
    let changed = tokio::time::timeout(DEADLINE, rx.changed()).await;
    changed
        .expect("a new state within the deadline")
        .expect("source running");
    let state = rx.borrow_and_update().clone();
    assert_eq!(state.generation, before + 1, "one change, one generation");
    assert!(state.errors.is_empty());
    state
}

#[tokio::test]
async fn initial_lists_publish_generation_one_with_exact_objects() {
    let (_api, _source, rx, _shutdown) = start(full_cluster()).await;
    let state = rx.borrow().clone();
    assert_eq!(state.generation, 1);
    assert!(state.errors.is_empty());
    assert_eq!(*state.objects, expected_full());
    let svc = &state.objects.services[&echo("echo")];
    let annotations = svc.metadata.annotations.as_ref().expect("annotations kept");
    assert_eq!(
        annotations.len(),
        1,
        "only last-applied is stripped: {annotations:?}"
    );
    assert_eq!(svc.metadata.managed_fields, None);
    assert_eq!(svc.metadata.resource_version, None);
    let status = state.objects.nodes["node-a"]
        .status
        .as_ref()
        .expect("node status kept");
    assert_eq!(status.images, None);
}

#[tokio::test]
async fn watch_events_publish_one_generation_each() {
    let (api, _source, mut rx, _shutdown) = start(full_cluster()).await;

    api.event("pods", "ADDED", pod("echo-2", "10.1.0.6"));
    let state = next_state(&mut rx).await;
    assert_eq!(state.generation, 2);
    assert_eq!(
        *state.objects.pods[&echo("echo-2")],
        typed::<Pod>(pod("echo-2", "10.1.0.6"))
    );
    assert!(state.objects.pods.contains_key(&echo("echo-1")));

    api.event("services", "MODIFIED", service("false"));
    let state = next_state(&mut rx).await;
    assert_eq!(
        state.objects.services[&echo("echo")],
        typed::<Service>(service("false"))
    );

    api.event("endpointslices", "DELETED", endpoint_slice());
    let state = next_state(&mut rx).await;
    assert!(state.objects.endpoint_slices.is_empty());

    api.event("serviceexports", "DELETED", service_export());
    let state = next_state(&mut rx).await;
    assert_eq!(state.generation, 5);
    assert!(state.objects.service_exports.is_empty());
}

#[tokio::test]
async fn missing_service_export_crd_means_none() {
    let mut cluster = full_cluster();
    cluster
        .objects
        .retain(|(resource, _)| *resource != "serviceexports");
    cluster.missing.push("serviceexports");
    let (_api, _source, rx, _shutdown) = start(cluster).await;
    let state = rx.borrow().clone();
    assert_eq!(state.generation, 1);
    let mut expected = expected_full();
    expected.service_exports.clear();
    assert_eq!(*state.objects, expected);
}

#[tokio::test]
async fn expired_watch_relists_and_drops_what_disappeared() {
    let mut cluster = full_cluster();
    cluster.objects.push(("pods", pod("echo-2", "10.1.0.6")));
    let (api, _source, mut rx, _shutdown) = start(cluster).await;
    assert_eq!(rx.borrow().objects.pods.len(), 2);

    // The deletion of echo-1 is never sent as an event; only the relist can reveal it.
    api.replace_silently("pods", vec![pod("echo-2", "10.1.0.6")]);
    api.watch_error("pods", 410);
    let state = next_state(&mut rx).await;
    assert_eq!(state.generation, 2);
    let mut expected = expected_full();
    expected.pods.clear();
    expected.pods.insert(
        echo("echo-2"),
        typed::<Pod>(pod("echo-2", "10.1.0.6")).into(),
    );
    assert_eq!(*state.objects, expected);
}

#[tokio::test]
async fn relist_without_changes_publishes_nothing() {
    let (api, _source, mut rx, _shutdown) = start(full_cluster()).await;
    api.watch_error("services", 410);
    api.listed("services", 2, DEADLINE).await;
    // Had the identical relist been published, it would be generation 2 without the pod.
    api.event("pods", "ADDED", pod("echo-2", "10.1.0.6"));
    let state = next_state(&mut rx).await;
    assert_eq!(state.generation, 2);
    assert!(state.objects.pods.contains_key(&echo("echo-2")));
}

#[tokio::test]
async fn failed_list_is_retried_before_ready() {
    let (api, client) = FakeApi::start(full_cluster());
    api.fail_lists("pods", 500, 1);
    let shutdown = CancellationToken::new();
    let started = tokio::time::timeout(DEADLINE, KubeSource::start(client, shutdown)).await;
    let (_source, rx) = started
        .expect("ready within the deadline")
        .expect("source starts");
    assert_eq!(rx.borrow().generation, 1);
    assert_eq!(*rx.borrow().objects, expected_full());
}

#[tokio::test]
async fn initial_sync_timeout_names_the_resources_not_listed() {
    let (api, client) = FakeApi::start(full_cluster());
    api.fail_lists("nodes", 403, 1000);
    let timeout = Duration::from_millis(500);
    let result = KubeSource::start_with_timeout(client, CancellationToken::new(), timeout).await;
    let Err(KubeSourceError::NotReady { pending, .. }) = result else {
        panic!("expected NotReady, got {result:?}");
    };
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].resource, "nodes");
    let last_error = pending[0].last_error.as_deref().unwrap_or_default();
    assert!(last_error.contains("403"), "{last_error}");
}

#[tokio::test]
async fn shutdown_ends_every_task() {
    let (_api, source, mut rx, shutdown) = start(full_cluster()).await;
    shutdown.cancel();
    let stopped = tokio::time::timeout(DEADLINE, source.stopped()).await;
    stopped
        .expect("tasks end within the deadline")
        .expect("no task panicked");
    let closed = tokio::time::timeout(DEADLINE, rx.changed()).await;
    assert!(closed.expect("sender dropped").is_err());
}

#[tokio::test]
async fn dropping_every_receiver_ends_every_task() {
    let (_api, source, rx, _shutdown) = start(full_cluster()).await;
    drop(rx);
    let stopped = tokio::time::timeout(DEADLINE, source.stopped()).await;
    stopped
        .expect("tasks end within the deadline")
        .expect("no task panicked");
}
