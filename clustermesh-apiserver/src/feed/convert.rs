//! Store entries to feed events, filtered by scope. Records pass as the bytes stored;
//! markers and peer states, a few per cluster, are decoded, and one that does not
//! decode is skipped with a warning rather than ending the stream: one bad entry must
//! not cut every agent off from everything else.

use super::{FeedEvent, Scope};
use crate::layout::{self, Family, KeyClass};
use crate::store::{Event, KeyValue};

/// A put (or a snapshot entry) as an event; `None` when out of scope or internal.
pub(super) fn put(scope: &Scope, kv: &KeyValue) -> Option<FeedEvent> {
    let decoded = match layout::family(&kv.key) {
        Family::Record => {
            return Some(FeedEvent::Upsert {
                record: kv.value.clone(),
                revision: kv.mod_revision,
            });
        }
        Family::Synced => layout::decode_synced(&kv.key, &kv.value).map(FeedEvent::Synced),
        Family::PeerState if *scope == Scope::Mesh => {
            layout::decode_peer_state(&kv.key, &kv.value).map(FeedEvent::PeerState)
        }
        Family::PeerState | Family::Internal => return None,
        Family::Unknown => {
            tracing::warn!(key = %kv.key, "skipping a store key of unknown shape");
            return None;
        }
    };
    decoded
        .inspect_err(|error| tracing::warn!(%error, "skipping a store entry"))
        .ok()
}

/// A store change that has no wire form and needs a fresh snapshot instead.
pub(super) struct Resync;

/// `event` is shared with the store's history and other watchers, hence borrowed.
pub(super) fn event(scope: &Scope, event: &Event) -> Result<Option<FeedEvent>, Resync> {
    match event {
        Event::Put(kv) => Ok(put(scope, kv)),
        Event::Delete { key, revision } => match classify(key) {
            Some(KeyClass::Record(key)) => Ok(Some(FeedEvent::Delete {
                key,
                revision: *revision,
            })),
            // Deleted markers and peer states have no delete on the wire; a bracketed
            // snapshot makes the client drop them. Rare: a peer removed, restarted or
            // expired from the cache.
            Some(KeyClass::Synced(_)) => Err(Resync),
            Some(KeyClass::PeerState(_)) if *scope == Scope::Mesh => Err(Resync),
            _ => Ok(None),
        },
    }
}

fn classify(key: &str) -> Option<KeyClass> {
    layout::classify(key)
        .inspect_err(|error| tracing::warn!(%error, "skipping a store key of unknown shape"))
        .ok()
}
