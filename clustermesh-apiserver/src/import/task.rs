//! One peer's import loop: connect, mirror the stream into the store, track the
//! heartbeat, and reconnect with capped exponential backoff.

use std::{sync::Arc, time::Duration};

use clustermesh_proto::{
    PeerState, RecordKind, WatchEvent, cluster_prefix, kind_prefix, synced_prefix,
};
use futures::FutureExt as _;
use tokio::{sync::watch, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    ImportStatus, ImportTimings, PeerConfig,
    link::{self, LinkError, PeerEvents},
    mirror::{Mirror, MirrorError},
    reachability::{Due, Reachability},
};
use crate::clock::now_ms;
use crate::layout;
use crate::report::error_chain;
use crate::store::{Store, StoreError, WriteOp};

/// Writes queued behind the one in flight, at most; past that the stream is not read
/// until the write is done, so a slow store slows the peer's feed instead of filling
/// memory. A write carries what arrived while the last one was in flight, so batches
/// grow as the store slows down.
const MAX_QUEUED_OPS: usize = 8192;

/// A write to the local store in flight, with the number of events it carries.
type Writing<'a> = futures::future::BoxFuture<'a, (Result<(), StoreError>, u64)>;

#[derive(Debug, thiserror::Error)]
enum StreamEnd {
    #[error("shutting down")]
    Shutdown,
    #[error("peer closed the stream")]
    Closed,
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Mirror(#[from] MirrorError),
    /// A write may or may not have been applied: the local copy is relisted.
    #[error("writing to the local store failed: {0}")]
    Store(#[from] StoreError),
    #[error("no heartbeat from the peer within the peer timeout")]
    Silent,
    /// The cached copy expired; the next stream starts with a snapshot.
    #[error("peer unreachable past its cache TTL; its records were dropped")]
    Purged,
}

pub(super) struct ImportTask {
    pub store: Arc<dyn Store>,
    pub peer: PeerConfig,
    pub timings: ImportTimings,
    pub status: watch::Sender<ImportStatus>,
}

impl ImportTask {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut reach = Reachability::new(
            Instant::now(),
            self.timings.peer_timeout,
            self.timings.cache_ttl,
        );
        let mut backoff = self.timings.backoff_min;
        let mut mirror: Option<Mirror> = None;
        loop {
            let mut current = match mirror.take() {
                Some(m) => m,
                None => match self.load().await {
                    Ok(m) => m,
                    Err(e) => {
                        self.failed(&e);
                        let paused = self.pause(&mut backoff, &mut reach, &mut mirror, &shutdown);
                        if paused.await.is_err() {
                            return;
                        }
                        continue;
                    }
                },
            };
            let opened = {
                // Dialling can take the connect timeout and more; the peer must still be
                // marked unreachable on time meanwhile.
                let open = link::open(&self.peer, &self.timings, current.resume());
                tokio::pin!(open);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        opened = &mut open => break Some(opened),
                        () = wake(&reach) => {
                            if self.on_timer(&mut reach).await == Some(Due::Purge) {
                                break None;
                            }
                        }
                    }
                }
            };
            // The cache was purged while dialling: reload the mirror before streaming.
            let Some(opened) = opened else { continue };
            let end = match opened {
                Ok(stream) => {
                    self.status.send_modify(|s| {
                        s.connected = true;
                        s.last_error = None;
                    });
                    self.mirror(stream, &mut current, &mut reach, &mut backoff, &shutdown)
                        .await
                }
                Err(e) => Err(StreamEnd::Link(e)),
            };
            self.status.send_modify(|s| s.connected = false);
            current.disconnected();
            match end {
                Err(StreamEnd::Shutdown) | Ok(()) => return,
                Err(e @ (StreamEnd::Store(_) | StreamEnd::Purged)) => self.failed(&e),
                Err(e) => {
                    self.failed(&e);
                    mirror = Some(current);
                }
            }
            if self
                .pause(&mut backoff, &mut reach, &mut mirror, &shutdown)
                .await
                .is_err()
            {
                return;
            }
        }
    }

    /// The local copy as the store holds it.
    async fn load(&self) -> Result<Mirror, StoreError> {
        let held = self
            .store
            .list(&cluster_prefix(&self.peer.cluster.name))
            .await?;
        let mirror = Mirror::new(
            self.peer.cluster.name.clone(),
            self.peer.cluster.id,
            &held.items,
        );
        self.publish_counts(&mirror);
        Ok(mirror)
    }

    /// Applies the stream to the mirror and the store until it ends. One write is in
    /// flight while the next one is gathered from what keeps arriving; whatever the
    /// mirror accepted is written before this returns, except after a failed write,
    /// when the caller reloads the mirror from the store anyway.
    async fn mirror(
        &self,
        mut stream: impl PeerEvents,
        mirror: &mut Mirror,
        reach: &mut Reachability,
        backoff: &mut Duration,
        shutdown: &CancellationToken,
    ) -> Result<(), StreamEnd> {
        let mut queued: Vec<WriteOp> = Vec::new();
        let mut events = 0u64;
        let mut writing: Option<Writing<'_>> = None;
        let ended = 'stream: loop {
            if writing.is_none() && (events > 0 || !queued.is_empty()) {
                writing = Some(self.start_write(&mut queued, &mut events));
            }
            let full = queued.len() >= MAX_QUEUED_OPS;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return Err(StreamEnd::Shutdown),
                (written, n) = async { writing.as_mut().expect("guarded").await }, if writing.is_some() => {
                    writing = None;
                    self.written(written, n, mirror, backoff)?;
                }
                received = stream.next(), if !full => {
                    // A feed batch arrives as many messages at once: all that are already
                    // here go into one write, not the first alone into a write of its own.
                    let mut next = Some(received);
                    while let Some(received) = next {
                        let taken = received
                            .map_err(StreamEnd::from)
                            .and_then(|e| e.ok_or(StreamEnd::Closed))
                            .and_then(|e| self.take(e, mirror, reach, &mut queued));
                        if let Err(end) = taken {
                            break 'stream end;
                        }
                        events += 1;
                        next = match queued.len() < MAX_QUEUED_OPS {
                            true => stream.next().now_or_never(),
                            false => None,
                        };
                    }
                }
                () = wake(reach) => {
                    // The timer writes the peer's state; it must land after what is in
                    // flight, which may say the opposite.
                    if let Some(write) = writing.take() {
                        let (written, n) = write.await;
                        self.written(written, n, mirror, backoff)?;
                    }
                    match self.on_timer(reach).await {
                        Some(Due::Purge) => return Err(StreamEnd::Purged),
                        // A stream that carries nothing, not even heartbeats, is dead
                        // even if TCP has not noticed: dial again.
                        Some(Due::MarkUnreachable) => break StreamEnd::Silent,
                        None => {}
                    }
                }
            }
        };
        // What the mirror already accepted is written even though the stream failed:
        // the mirror and the store must not disagree.
        if let Some(write) = writing.take() {
            let (written, n) = write.await;
            self.written(written, n, mirror, backoff)?;
        }
        if events > 0 || !queued.is_empty() {
            let (written, n) = self.start_write(&mut queued, &mut events).await;
            self.written(written, n, mirror, backoff)?;
        }
        Err(ended)
    }

    fn start_write(&self, queued: &mut Vec<WriteOp>, events: &mut u64) -> Writing<'_> {
        let ops = coalesce(std::mem::take(queued));
        let n = std::mem::take(events);
        Box::pin(async move {
            let (started, count) = (Instant::now(), ops.len());
            let written = self.write(ops).await;
            tracing::debug!(
                ops = count,
                write_ms = started.elapsed().as_millis(),
                "import write"
            );
            (written, n)
        })
    }

    fn written(
        &self,
        written: Result<(), StoreError>,
        events: u64,
        mirror: &Mirror,
        backoff: &mut Duration,
    ) -> Result<(), StreamEnd> {
        written?;
        self.status.send_modify(|s| s.events += events);
        self.publish_counts(mirror);
        if events > 0 {
            *backoff = self.timings.backoff_min;
        }
        Ok(())
    }

    fn take(
        &self,
        received: link::Received,
        mirror: &mut Mirror,
        reach: &mut Reachability,
        ops: &mut Vec<WriteOp>,
    ) -> Result<(), StreamEnd> {
        // Any message proves the peer alive: a long snapshot carries no heartbeats.
        if reach.beat(Instant::now()) {
            ops.push(self.peer_state(true));
        }
        // One bad record must not stop the import of everything else, nor make us
        // reconnect for a snapshot that carries it again.
        let event = match received {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "skipping an invalid event from the peer");
                self.status.send_modify(|s| s.rejected += 1);
                return Ok(());
            }
        };
        if let WatchEvent::Heartbeat { unix_ms, .. } = &event {
            let now = now_ms();
            let lag = u64::try_from(now.saturating_sub(*unix_ms)).unwrap_or(0);
            self.status.send_modify(|s| {
                s.last_heartbeat_unix_ms = Some(now);
                s.lag_ms = Some(lag);
            });
        }
        ops.extend(mirror.apply(event)?);
        Ok(())
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        for batch in crate::store::in_batches(ops, self.store.max_batch_ops()) {
            self.store.write_batch(batch).await?;
        }
        Ok(())
    }

    /// Does what the clock says is due, and says what that was.
    async fn on_timer(&self, reach: &mut Reachability) -> Option<Due> {
        let peer = &self.peer.cluster.name;
        let due = reach.due(Instant::now());
        match due {
            Some(Due::MarkUnreachable) => {
                tracing::warn!(timeout = ?self.timings.peer_timeout, "peer missed its heartbeats; unreachable");
                self.status.send_modify(|s| s.reachable = Some(false));
                if let Err(e) = self.write(vec![self.peer_state(false)]).await {
                    tracing::warn!(error = %error_chain(&e), "could not record the peer as unreachable");
                }
            }
            Some(Due::Purge) => {
                tracing::warn!("peer unreachable past its cache TTL; dropping its records");
                let mut result = Ok(());
                for prefix in RecordKind::ALL
                    .into_iter()
                    .map(|kind| kind_prefix(peer, kind))
                    .chain([synced_prefix(peer)])
                {
                    result = result.and(self.store.delete_prefix(&prefix).await.map(|_| ()));
                }
                if let Err(e) = result {
                    tracing::warn!(error = %error_chain(&e), "purging the peer's records failed");
                }
                self.status.send_modify(|s| {
                    s.record_counts.clear();
                    s.synced_kinds.clear();
                });
            }
            None => {}
        }
        due
    }

    fn peer_state(&self, reachable: bool) -> WriteOp {
        let state = PeerState {
            cluster: self.peer.cluster.name.clone(),
            reachable,
            last_heartbeat_unix_ms: self.status.borrow().last_heartbeat_unix_ms,
        };
        self.status.send_modify(|s| s.reachable = Some(reachable));
        WriteOp::Put {
            key: layout::peer_state_key(&state.cluster),
            value: layout::encode_peer_state(&state),
            lease: None,
        }
    }

    fn publish_counts(&self, mirror: &Mirror) {
        let counts = mirror.counts().clone();
        let synced = mirror.synced_kinds().clone();
        self.status.send_if_modified(|s| {
            let changed = s.record_counts != counts || s.synced_kinds != synced;
            s.record_counts = counts;
            s.synced_kinds = synced;
            changed
        });
    }

    fn failed(&self, error: &dyn std::error::Error) {
        let text = error_chain(error);
        tracing::warn!(error = %text, "import from peer interrupted; reconnecting");
        self.status.send_modify(|s| s.last_error = Some(text));
    }

    /// Waits out the backoff, still marking the peer unreachable on time meanwhile.
    async fn pause(
        &self,
        backoff: &mut Duration,
        reach: &mut Reachability,
        mirror: &mut Option<Mirror>,
        shutdown: &CancellationToken,
    ) -> Result<(), ()> {
        let until = Instant::now() + jitter(*backoff);
        *backoff = (*backoff * 2).min(self.timings.backoff_max);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Err(()),
                () = tokio::time::sleep_until(until) => return Ok(()),
                () = wake(reach) => {
                    if self.on_timer(reach).await == Some(Due::Purge) {
                        // Reloaded from the store before the next stream.
                        *mirror = None;
                    }
                }
            }
        }
    }
}

/// The last write to each key, in the order of those last writes: a batch may touch a
/// key only once, and two events for one key often arrive together.
fn coalesce(ops: Vec<WriteOp>) -> Vec<WriteOp> {
    fn key(op: &WriteOp) -> &str {
        match op {
            WriteOp::Put { key, .. } | WriteOp::Delete { key } => key,
        }
    }
    let mut last = std::collections::HashMap::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        last.insert(key(op), i);
    }
    if last.len() == ops.len() {
        return ops;
    }
    let keep: Vec<bool> = (0..ops.len())
        .map(|i| last.get(key(&ops[i])) == Some(&i))
        .collect();
    ops.into_iter()
        .zip(keep)
        .filter_map(|(op, keep)| keep.then_some(op))
        .collect()
}

async fn wake(reach: &Reachability) {
    match reach.next_wake() {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Up to 20% less than `delay`, so peers that failed together do not retry together.
fn jitter(delay: Duration) -> Duration {
    use rand::Rng;
    delay.mul_f64(rand::rng().random_range(0.8..=1.0))
}

#[cfg(test)]
mod tests;
