//! A watch's delivery channel, bounded by the number of events in flight rather than
//! by the number of messages, so one large batch counts for what it weighs.
//!
//! The producer never waits: when the budget is exhausted the watcher is cut with
//! `WatchLagged` naming the last revision it was sent, and it resumes from there. A slow
//! reader therefore costs a relist or a resume, never a stalled writer.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;

use super::{Revision, StoreError, WatchResponse};

/// Events one watcher may have queued before it is cut, unless configured otherwise.
pub const DEFAULT_WATCH_BUFFER_EVENTS: usize = 262_144;

pub(crate) struct WatchSender {
    tx: mpsc::UnboundedSender<WatchResponse>,
    shared: Arc<Shared>,
    limit: usize,
    last_sent: Revision,
}

struct Shared {
    queued: AtomicUsize,
    cut: Mutex<Option<StoreError>>,
}

pub(crate) enum SendError {
    /// The watcher was cut for falling behind; drop the sender.
    Lagged,
    /// The receiver is gone; drop the sender.
    Closed,
}

pub(crate) fn watch_channel(limit: usize, after: Revision) -> (WatchSender, WatchReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        queued: AtomicUsize::new(0),
        cut: Mutex::new(None),
    });
    let sender = WatchSender {
        tx,
        shared: shared.clone(),
        limit: limit.max(1),
        last_sent: after,
    };
    let receiver = WatchReceiver {
        rx,
        shared,
        done: false,
    };
    (sender, receiver)
}

impl WatchSender {
    pub(crate) fn send(&mut self, resp: WatchResponse) -> Result<(), SendError> {
        let Some(last) = resp.last_revision() else {
            return Ok(());
        };
        let n = resp.events.len();
        let queued = self.shared.queued.load(Ordering::Acquire);
        // A single response larger than the whole budget still goes to an idle reader.
        if queued > 0 && queued + n > self.limit {
            self.cut_lagged();
            return Err(SendError::Lagged);
        }
        self.shared.queued.fetch_add(n, Ordering::AcqRel);
        if self.tx.send(resp).is_err() {
            return Err(SendError::Closed);
        }
        self.last_sent = last;
        Ok(())
    }

    /// Ends the stream with `WatchLagged` at the last revision sent.
    pub(crate) fn cut_lagged(&self) {
        self.cut(StoreError::WatchLagged {
            resume_after: self.last_sent,
        });
    }

    /// Ends the stream with `err` after what was already queued.
    pub(crate) fn cut(&self, err: StoreError) {
        if let Ok(mut cut) = self.shared.cut.lock() {
            cut.get_or_insert(err);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

pub(crate) struct WatchReceiver {
    rx: mpsc::UnboundedReceiver<WatchResponse>,
    shared: Arc<Shared>,
    done: bool,
}

impl Stream for WatchReceiver {
    type Item = Result<WatchResponse, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(resp)) => {
                self.shared
                    .queued
                    .fetch_sub(resp.events.len(), Ordering::AcqRel);
                Poll::Ready(Some(Ok(resp)))
            }
            Poll::Ready(None) => {
                self.done = true;
                let err = self
                    .shared
                    .cut
                    .lock()
                    .ok()
                    .and_then(|mut c| c.take())
                    .unwrap_or(StoreError::Closed);
                Poll::Ready(Some(Err(err)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
