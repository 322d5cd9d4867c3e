//! The task behind one feed: snapshot, then watch, recovering from what the store
//! reports, until the client goes away or the server shuts down.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{FeedEvent, Resume, Scope, convert};
use crate::clock::now_ms;
use crate::store::{Revision, Store, StoreError, WatchStream};

/// A key no entry ever has: listing it is the cheapest way to read the revision.
const REVISION_PROBE: &str = "~meta/revision-probe/";
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// Snapshot entries per batch: the first reach the client while the rest are converted.
const SNAPSHOT_CHUNK: usize = 1024;

pub(super) struct FeedTask {
    pub store: Arc<dyn Store>,
    pub epoch: Arc<str>,
    pub scope: Scope,
    pub prefix: String,
    pub resume: Resume,
    pub heartbeat: Option<Duration>,
    pub shutdown: CancellationToken,
    pub tx: mpsc::Sender<Result<Vec<FeedEvent>, StoreError>>,
}

/// Why the task stopped sending: the client left, or the server is shutting down.
struct Gone;

/// What ended one watch attempt.
enum Next {
    Snapshot,
    Resume(Revision),
    Retry(Revision),
}

// The task ends when its channel closes (the client's stream was dropped) or on
// shutdown, so it needs no handle of its own.
pub(super) fn spawn(task: FeedTask) {
    let span = tracing::debug_span!("feed", scope = ?task.scope);
    tokio::spawn(task.run().instrument(span));
}

impl FeedTask {
    async fn run(mut self) {
        if let Err(error) = self.serve().await {
            // The client may already be gone; then there is no one left to tell.
            let _ = self.tx.send(Err(error)).await;
        }
    }

    async fn serve(&mut self) -> Result<(), StoreError> {
        let mut delay = RETRY_MIN;
        let mut next = loop {
            match self.first_step().await {
                Ok(next) => break next,
                Err(e) if e.is_retryable() => {
                    if self.pause(&mut delay).await.is_err() {
                        return Ok(());
                    }
                }
                Err(e) => return Err(e),
            }
        };
        loop {
            let after = match next {
                Next::Snapshot => match self.snapshot().await {
                    Ok(Ok(revision)) => revision,
                    Ok(Err(Gone)) => return Ok(()),
                    Err(e) if e.is_retryable() => {
                        next = Next::Snapshot;
                        if self.pause(&mut delay).await.is_err() {
                            return Ok(());
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                },
                Next::Resume(revision) => revision,
                Next::Retry(revision) => {
                    if self.pause(&mut delay).await.is_err() {
                        return Ok(());
                    }
                    revision
                }
            };
            next = match self.store.watch(&self.prefix, after).await {
                Ok(stream) => match self.stream(stream, after, &mut delay).await {
                    Ok(next) => next,
                    Err(Gone) => return Ok(()),
                },
                Err(StoreError::Compacted { .. }) => Next::Snapshot,
                Err(e) if e.is_retryable() => Next::Retry(after),
                Err(e) => return Err(e),
            };
        }
    }

    /// Whether the client's resume point can be honoured, or it needs a snapshot.
    async fn first_step(&self) -> Result<Next, StoreError> {
        let Resume { revision, epoch } = &self.resume;
        if *revision <= 0 || **epoch != *self.epoch {
            return Ok(Next::Snapshot);
        }
        let current = self.store.list(REVISION_PROBE).await?.revision;
        Ok(match *revision <= current {
            true => Next::Resume(*revision),
            false => Next::Snapshot,
        })
    }

    /// Sends the bracketed snapshot, in chunks; records first, then synced markers, so a
    /// client that sees a marker already holds everything it covers.
    async fn snapshot(&self) -> Result<Result<Revision, Gone>, StoreError> {
        let list = self.store.list(&self.prefix).await?;
        let revision = list.revision;
        let mut markers = Vec::new();
        let mut chunk = Vec::with_capacity(SNAPSHOT_CHUNK);
        chunk.push(FeedEvent::SnapshotBegin { revision });
        for kv in &list.items {
            match convert::put(&self.scope, kv) {
                Some(marker @ FeedEvent::Synced(_)) => markers.push(marker),
                Some(event) => chunk.push(event),
                None => {}
            }
            if chunk.len() >= SNAPSHOT_CHUNK
                && let Err(gone) = self.send(std::mem::take(&mut chunk)).await
            {
                return Ok(Err(gone));
            }
        }
        chunk.extend(markers);
        chunk.push(FeedEvent::SnapshotEnd {
            revision,
            epoch: self.epoch.to_string(),
        });
        Ok(self.send(chunk).await.map(|()| revision))
    }

    /// Forwards one store watch until it ends, and says how to go on.
    async fn stream(
        &self,
        mut stream: WatchStream,
        mut last: Revision,
        delay: &mut Duration,
    ) -> Result<Next, Gone> {
        let mut heartbeat = self.heartbeat.map(|period| {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick
        });
        loop {
            let beat = async {
                match heartbeat.as_mut() {
                    Some(tick) => tick.tick().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = self.shutdown.cancelled() => return Err(Gone),
                _ = beat => {
                    let beat = FeedEvent::Heartbeat { unix_ms: now_ms(), revision: last };
                    self.send(vec![beat]).await?;
                }
                item = stream.next() => match item {
                    Some(Ok(response)) => {
                        *delay = RETRY_MIN;
                        let next_last = response.last_revision().unwrap_or(last);
                        let mut batch = Vec::with_capacity(response.events.len());
                        let mut resync = false;
                        for event in response.events.iter() {
                            match convert::event(&self.scope, event) {
                                Ok(Some(event)) => batch.push(event),
                                Ok(None) => {}
                                Err(convert::Resync) => {
                                    resync = true;
                                    break;
                                }
                            }
                        }
                        if !batch.is_empty() {
                            tracing::trace!(events = batch.len(), revision = next_last, "feed batch");
                            self.send(batch).await?;
                        }
                        if resync {
                            return Ok(Next::Snapshot);
                        }
                        last = next_last;
                    }
                    Some(Err(StoreError::Compacted { .. })) => return Ok(Next::Snapshot),
                    Some(Err(StoreError::WatchLagged { resume_after })) => {
                        return Ok(Next::Resume(resume_after));
                    }
                    Some(Err(error)) => {
                        tracing::debug!(%error, "store watch ended; resuming");
                        return Ok(Next::Retry(last));
                    }
                    None => return Ok(Next::Retry(last)),
                },
            }
        }
    }

    async fn send(&self, events: Vec<FeedEvent>) -> Result<(), Gone> {
        tokio::select! {
            () = self.shutdown.cancelled() => Err(Gone),
            sent = self.tx.send(Ok(events)) => sent.map_err(|_| Gone),
        }
    }

    /// Waits out a retry delay (doubling it), or stops for shutdown or a gone client.
    async fn pause(&self, delay: &mut Duration) -> Result<(), Gone> {
        let wait = *delay;
        *delay = (*delay * 2).min(RETRY_MAX);
        tokio::select! {
            () = self.shutdown.cancelled() => Err(Gone),
            () = self.tx.closed() => Err(Gone),
            () = tokio::time::sleep(wait) => Ok(()),
        }
    }
}
