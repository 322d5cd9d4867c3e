//! Fans the events of a [`KvState`] out to prefix watchers.
//!
//! The owner calls [`WatchHub::subscribe`] and [`WatchHub::publish`] under the same lock
//! it applies commands under, so a new watcher's backlog and its live events meet with
//! no gap and no overlap.

use std::sync::Arc;

use futures::StreamExt;

use super::watch_channel::{SendError, WatchSender, watch_channel};
use super::{Event, KvState, Revision, WatchResponse, WatchStream};

pub(crate) struct WatchHub {
    buffer_events: usize,
    watchers: Vec<Watcher>,
}

struct Watcher {
    prefix: String,
    /// Events at or before this revision are not for this watcher (it may start in the
    /// future).
    after: Revision,
    sender: WatchSender,
}

impl WatchHub {
    pub(crate) fn new(buffer_events: usize) -> Self {
        WatchHub {
            buffer_events,
            watchers: Vec::new(),
        }
    }

    pub(crate) fn subscribe(
        &mut self,
        state: &KvState,
        prefix: &str,
        after: Revision,
    ) -> WatchStream {
        let (mut sender, receiver) = watch_channel(self.buffer_events, after);
        match state.history_after(prefix, after) {
            Err(err) => sender.cut(err),
            Ok(backlog) => {
                let sent = match backlog.is_empty() {
                    true => Ok(()),
                    false => sender.send(WatchResponse {
                        events: backlog.into(),
                    }),
                };
                if sent.is_ok() {
                    self.watchers.push(Watcher {
                        prefix: prefix.to_owned(),
                        after,
                        sender,
                    });
                }
            }
        }
        receiver.boxed()
    }

    /// Delivers the events of one apply, a batch per revision. A watcher that takes all
    /// of a batch gets the batch itself, not a copy. Watchers that are gone or too slow
    /// are dropped.
    pub(crate) fn publish(&mut self, batches: &[Arc<[Event]>]) {
        for events in batches {
            self.watchers.retain_mut(|w| {
                let wanted = |e: &Event| e.revision() > w.after && e.key().starts_with(&w.prefix);
                let matching: Arc<[Event]> = match events.iter().all(wanted) {
                    true => Arc::clone(events),
                    false => {
                        // Collected first: an empty vector allocates nothing, an empty
                        // shared slice does, for every watcher of another prefix.
                        let some: Vec<Event> =
                            events.iter().filter(|e| wanted(e)).cloned().collect();
                        if some.is_empty() {
                            return !w.sender.is_closed();
                        }
                        some.into()
                    }
                };
                match w.sender.send(WatchResponse { events: matching }) {
                    Ok(()) => true,
                    Err(SendError::Lagged | SendError::Closed) => false,
                }
            });
        }
    }

    /// Cuts every watch at what it was last sent, e.g. when a snapshot replaced the state
    /// wholesale: a resume then reports `Compacted` and the watcher relists.
    pub(crate) fn cut_all_lagged(&mut self) {
        for w in self.watchers.drain(..) {
            w.sender.cut_lagged();
        }
    }
}

#[cfg(test)]
mod tests;
