//! Store entries to watch events, filtered by scope. A value that does not decode is
//! skipped with a warning rather than ending the stream: one bad entry must not cut
//! every agent off from everything else.

use clustermesh_proto::WatchEvent;

use super::Scope;
use crate::layout::{self, KeyClass};
use crate::store::{Event, KeyValue};

/// A put (or a snapshot entry) as an event; `None` when out of scope or internal.
pub(super) fn put(scope: &Scope, kv: &KeyValue) -> Option<WatchEvent> {
    let decoded = match classify(&kv.key)? {
        KeyClass::Record(_) => {
            layout::decode_record(&kv.key, &kv.value).map(|record| WatchEvent::Upsert {
                record,
                revision: kv.mod_revision,
            })
        }
        KeyClass::Synced(_) => layout::decode_synced(&kv.key, &kv.value).map(WatchEvent::Synced),
        KeyClass::PeerState(_) if *scope == Scope::Mesh => {
            layout::decode_peer_state(&kv.key, &kv.value).map(WatchEvent::PeerState)
        }
        KeyClass::PeerState(_) | KeyClass::Internal => return None,
    };
    decoded
        .inspect_err(|error| tracing::warn!(%error, "skipping a store entry"))
        .ok()
}

/// A store change that has no wire form and needs a fresh snapshot instead.
pub(super) struct Resync;

pub(super) fn event(scope: &Scope, event: &Event) -> Result<Option<WatchEvent>, Resync> {
    match event {
        Event::Put(kv) => Ok(put(scope, kv)),
        Event::Delete { key, revision } => match classify(key) {
            Some(KeyClass::Record(key)) => Ok(Some(WatchEvent::Delete {
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
