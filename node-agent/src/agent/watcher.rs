//! Following `Mesh.Watch` into the merged view, resuming from the last revision and
//! epoch after a disconnect. The view is updated in place; the reconcile loop is woken
//! once per batch of events that arrived together.

use std::time::Duration;

use clustermesh_proto::{WatchEvent, pb};
use futures::FutureExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::view::MergedView;

const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Events applied before the reconcile loop is woken, at most.
const BATCH: usize = 1024;

pub async fn follow(
    channel: Channel,
    view: watch::Sender<MergedView>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut client = pb::mesh_client::MeshClient::new(channel);
    let mut retry = RETRY_MIN;
    loop {
        let resume = view.borrow().resume_point().cloned();
        let request = pb::WatchRequest {
            resume_revision: resume.as_ref().map_or(0, |r| r.revision),
            resume_epoch: resume.map(|r| r.epoch).unwrap_or_default(),
        };
        let opened = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            opened = client.watch(request) => opened,
        };
        match opened {
            Ok(stream) => {
                let mut stream = stream.into_inner();
                match pump(&mut stream, &view, &shutdown, &mut retry).await {
                    Ok(true) => return Ok(()),
                    Ok(false) => tracing::warn!("the apiserver closed the watch; resuming"),
                    Err(status) => {
                        tracing::warn!(code = ?status.code(), message = status.message(), "watch failed; resuming")
                    }
                }
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "cannot open the watch; retrying")
            }
        }
        let wait = retry;
        retry = (retry * 2).min(RETRY_MAX);
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Applies events until the stream ends; true on shutdown.
async fn pump(
    stream: &mut tonic::Streaming<pb::WatchResponse>,
    view: &watch::Sender<MergedView>,
    shutdown: &CancellationToken,
    retry: &mut Duration,
) -> Result<bool, tonic::Status> {
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return Ok(true),
            message = stream.message() => message?,
        };
        let Some(first) = first else { return Ok(false) };
        *retry = RETRY_MIN;
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match stream.message().now_or_never() {
                Some(Ok(Some(message))) => batch.push(message),
                _ => break,
            }
        }
        view.send_modify(|view| {
            for message in batch {
                match WatchEvent::try_from(message) {
                    Ok(event) => {
                        if let Err(error) = view.apply(event) {
                            tracing::warn!(%error, "ignoring a watch event");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "ignoring an invalid watch event"),
                }
            }
        });
    }
}
