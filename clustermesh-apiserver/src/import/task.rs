//! One peer's import loop: connect, mirror the stream into the store, track the
//! heartbeat, and reconnect with capped exponential backoff.

use std::{sync::Arc, time::Duration};

use clustermesh_proto::{
    PeerState, RecordKind, WatchEvent, cluster_prefix, kind_prefix, synced_prefix,
};
use futures::FutureExt;
use tokio::{sync::watch, time::Instant};
use tokio_util::sync::CancellationToken;

use super::{
    ImportStatus, ImportTimings, PeerConfig,
    link::{self, LinkError, PeerStream},
    mirror::{Mirror, MirrorError},
    reachability::{Due, Reachability},
};
use crate::clock::now_ms;
use crate::layout;
use crate::report::error_chain;
use crate::store::{Store, StoreError, WriteOp};

/// Events applied per store write at most, beyond the backend's own batch limit; keeps
/// one busy peer from holding a write for long.
const MAX_EVENTS_PER_WRITE: u64 = 512;

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

    async fn mirror(
        &self,
        mut stream: PeerStream,
        mirror: &mut Mirror,
        reach: &mut Reachability,
        backoff: &mut Duration,
        shutdown: &CancellationToken,
    ) -> Result<(), StreamEnd> {
        loop {
            let first = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Err(StreamEnd::Shutdown),
                event = link::next(&mut stream) => event,
                () = wake(reach) => {
                    match self.on_timer(reach).await {
                        Some(Due::Purge) => return Err(StreamEnd::Purged),
                        // A stream that carries nothing, not even heartbeats, is dead
                        // even if TCP has not noticed: dial again.
                        Some(Due::MarkUnreachable) => return Err(StreamEnd::Silent),
                        None => continue,
                    }
                }
            };
            let mut ops = Vec::new();
            let mut applied = 0u64;
            let mut next = Some(first);
            let mut ended = Ok(());
            // Whatever else has already arrived goes into the same write.
            while let Some(event) = next.take() {
                let taken = event
                    .map_err(StreamEnd::from)
                    .and_then(|e| e.ok_or(StreamEnd::Closed))
                    .and_then(|e| self.take(e, mirror, reach, &mut ops));
                if let Err(e) = taken {
                    ended = Err(e);
                    break;
                }
                applied += 1;
                if applied < MAX_EVENTS_PER_WRITE {
                    next = link::next(&mut stream).now_or_never();
                }
            }
            // What the mirror already accepted is written even when the stream then
            // failed: the mirror and the store must not disagree.
            self.write(coalesce(ops)).await?;
            self.status.send_modify(|s| s.events += applied);
            self.publish_counts(mirror);
            if applied > 0 {
                *backoff = self.timings.backoff_min;
            }
            ended?;
        }
    }

    fn take(
        &self,
        event: WatchEvent,
        mirror: &mut Mirror,
        reach: &mut Reachability,
        ops: &mut Vec<WriteOp>,
    ) -> Result<(), StreamEnd> {
        // Any message proves the peer alive: a long snapshot carries no heartbeats.
        if reach.beat(Instant::now()) {
            ops.push(self.peer_state(true));
        }
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
        let max = self.store.max_batch_ops().max(1);
        for chunk in ops.chunks(max) {
            self.store.write_batch(chunk.to_vec()).await?;
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
    let key = |op: &WriteOp| match op {
        WriteOp::Put { key, .. } | WriteOp::Delete { key } => key.clone(),
    };
    let mut last = std::collections::HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        last.insert(key(op), i);
    }
    ops.into_iter()
        .enumerate()
        .filter(|(i, op)| last.get(&key(op)) == Some(i))
        .map(|(_, op)| op)
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
mod tests {
    use super::*;

    fn put(key: &str, value: &'static str) -> WriteOp {
        WriteOp::Put {
            key: key.into(),
            value: bytes::Bytes::from_static(value.as_bytes()),
            lease: None,
        }
    }

    #[test]
    fn coalesce_keeps_the_last_write_per_key_in_order() {
        let ops = vec![
            put("a", "1"),
            put("b", "1"),
            WriteOp::Delete { key: "a".into() },
            put("b", "2"),
            put("c", "1"),
        ];
        assert_eq!(
            coalesce(ops),
            [
                WriteOp::Delete { key: "a".into() },
                put("b", "2"),
                put("c", "1")
            ]
        );
    }
}
