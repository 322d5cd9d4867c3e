//! `watch`: one etcd watch per store watch, forwarded by a task into the same bounded
//! channel the other backends use, so a slow reader is cut with `WatchLagged` and the
//! etcd stream is never held up by it.

use std::pin::Pin;
use std::task::{Context, Poll};

use etcd_client::{EventType, WatchOptions};
use futures::{Stream, StreamExt};
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::Instrument;

use super::EtcdStore;
use super::error::{call, store_error};
use super::keys::Keyspace;
use crate::store::watch_channel::{SendError, WatchReceiver, WatchSender, watch_channel};
use crate::store::{Event, Result, Revision, StoreError, WatchResponse, WatchStream};

/// The watch client's receive limit. Without fragmenting (which etcd-client cannot
/// reassemble: it does not expose the `fragment` flag) etcd sends every revision whole,
/// and a resuming watcher gets up to 1000 revisions per message; refusing such a message
/// would break the watch for good, so the limit is far above the unary 4 MiB.
pub(super) const WATCH_MAX_MESSAGE_BYTES: usize = 512 * 1024 * 1024;

impl EtcdStore {
    pub(super) async fn watch_prefix(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let (start, end) = self.keys.prefix_range(prefix);
        // etcd cancels a watch whose start revision is below the compaction point C.
        // Starting at `after + 1` would accept `after` = C - 1, which memory reports as
        // `Compacted`, and etcd would then stream revision C incompletely (compaction at C
        // drops tombstones at C). Starting at `after` gives memory's rule exactly (`after`
        // < C → Compacted); the forwarder drops the events at `after` itself. The cost:
        // etcd treats a watch from the current revision as catching up, so its first
        // events come from etcd's sync loop, up to 100 ms later.
        // Start revision 0 would mean "from now", so the floor is 1: `after` = 0 with
        // C = 1 is the one case that differs (etcd streams instead of `Compacted`).
        let options = WatchOptions::new()
            .with_range(end)
            .with_start_revision(after.max(1));
        let mut client = self.watch.clone();
        let mut stream = call(
            self.config.request_timeout,
            client.watch(start, Some(options)),
        )
        .await?;
        // The first message confirms the watch exists (or explains why not), so a watch
        // that could not be set up fails here instead of on the first read.
        let created = call(self.config.request_timeout, stream.message()).await?;
        let (watch_id, backlog_until) = match created {
            // The header names the revision the watch was created at: what etcd sends
            // up to it is the backlog, what follows is live.
            Some(resp) if resp.created() && !resp.canceled() => (
                resp.watch_id(),
                resp.header().map_or(after, |h| h.revision()),
            ),
            Some(resp) if resp.compact_revision() > 0 => {
                return Ok(ended_with(StoreError::Compacted {
                    requested: after,
                    compacted: resp.compact_revision(),
                }));
            }
            Some(resp) => {
                return Err(StoreError::unavailable(format!(
                    "etcd refused the watch: {}",
                    resp.cancel_reason()
                )));
            }
            None => return Err(StoreError::unavailable("etcd closed the watch stream")),
        };

        let (sender, receiver) = watch_channel(self.config.watch_buffer_events, after);
        let stop = CancellationToken::new();
        let forwarder = Forwarder {
            keys: self.keys.clone(),
            after,
            backlog_until,
            sender,
            watch_id,
        };
        let span = tracing::info_span!("etcd-watch", prefix, after, watch_id);
        tokio::spawn(forwarder.run(stream, stop.clone()).instrument(span));
        Ok(CancelOnDrop {
            receiver,
            _stop: stop.drop_guard(),
        }
        .boxed())
    }
}

/// A stream that only yields `err`, for a watch etcd cancelled at creation.
fn ended_with(err: StoreError) -> WatchStream {
    futures::stream::iter([Err(err)]).boxed()
}

/// The store's end of a watch. Dropping it stops the forwarder, which cancels the etcd
/// watch: without this the etcd watch would live until the next event showed the
/// channel closed, which on a quiet prefix is never.
struct CancelOnDrop {
    receiver: WatchReceiver,
    _stop: DropGuard,
}

impl Stream for CancelOnDrop {
    type Item = Result<WatchResponse>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.receiver).poll_next(cx)
    }
}

pub(super) struct Forwarder {
    keys: Keyspace,
    after: Revision,
    /// The revision the watch was created at (see `forward`).
    backlog_until: Revision,
    sender: WatchSender,
    watch_id: i64,
}

impl Forwarder {
    #[cfg(test)]
    pub(super) fn for_test(after: Revision, backlog_until: Revision, sender: WatchSender) -> Self {
        Forwarder {
            keys: Keyspace::new(""),
            after,
            backlog_until,
            sender,
            watch_id: 0,
        }
    }

    /// Moves etcd's responses into the channel until the reader goes away, is cut for
    /// lagging, or etcd ends the watch (then the reader gets the reason).
    async fn run(mut self, mut stream: etcd_client::WatchStream, stop: CancellationToken) {
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => break,
                message = stream.message() => message,
            };
            let resp = match message {
                Ok(Some(resp)) => resp,
                Ok(None) => {
                    self.sender
                        .cut(StoreError::unavailable("etcd ended the watch stream"));
                    break;
                }
                Err(err) => {
                    let err = match store_error(err) {
                        unavailable @ StoreError::Unavailable { .. } => unavailable,
                        other => StoreError::unavailable(format!("etcd watch failed: {other}")),
                    };
                    self.sender.cut(err);
                    break;
                }
            };
            if resp.compact_revision() > 0 {
                self.sender.cut(StoreError::Compacted {
                    requested: self.after,
                    compacted: resp.compact_revision(),
                });
                break;
            }
            if resp.canceled() {
                self.sender.cut(StoreError::unavailable(format!(
                    "etcd cancelled the watch: {}",
                    resp.cancel_reason()
                )));
                break;
            }
            if self.forward(self.convert(resp.events())).is_err() {
                break;
            }
        }
        // Best effort: the server also drops the watch when the stream closes below.
        if let Err(error) = stream.cancel(self.watch_id).await {
            tracing::debug!(%error, "cancelling the etcd watch failed");
        }
    }

    /// Hands events to the channel in the shape the memory backend does, because the
    /// lag budget is checked per response (a response goes to an idle reader whatever
    /// its size): the backlog (events up to the creation revision) as whole messages,
    /// as memory sends a new watcher's history in one response, and live events one
    /// response per revision, as memory publishes each write. etcd may batch up to 1000
    /// live revisions into one message for a watcher it considers behind; sent whole,
    /// that batch would escape the budget and a slow reader would never be cut. No
    /// revision is split: etcd sends each whole (no fragmenting), and so do we.
    pub(super) fn forward(&mut self, events: Vec<Event>) -> Result<(), SendError> {
        let split = events.partition_point(|e| e.revision() <= self.backlog_until);
        let mut events = events.into_iter().peekable();
        let backlog: Vec<Event> = events.by_ref().take(split).collect();
        if !backlog.is_empty() {
            self.sender.send(WatchResponse {
                events: backlog.into(),
            })?;
        }
        while let Some(first) = events.next() {
            let revision = first.revision();
            let mut batch = vec![first];
            while let Some(next) = events.next_if(|e| e.revision() == revision) {
                batch.push(next);
            }
            self.sender.send(WatchResponse {
                events: batch.into(),
            })?;
        }
        Ok(())
    }

    fn convert(&self, events: &[etcd_client::Event]) -> Vec<Event> {
        events
            .iter()
            .filter_map(|event| {
                let kv = event.kv()?;
                // Only the first response can hold events at `after` (see `watch_prefix`).
                if kv.mod_revision() <= self.after {
                    return None;
                }
                let kv = self.keys.key_value(kv)?;
                Some(match event.event_type() {
                    EventType::Put => Event::Put(kv),
                    EventType::Delete => Event::Delete {
                        key: kv.key,
                        revision: kv.mod_revision,
                    },
                })
            })
            .collect()
    }
}
