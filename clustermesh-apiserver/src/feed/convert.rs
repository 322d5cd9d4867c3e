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

pub(super) fn event(scope: &Scope, event: &Event) -> Option<WatchEvent> {
    match event {
        Event::Put(kv) => put(scope, kv),
        // Only records have a delete on the wire. Synced markers and peer states go
        // away only with a removed peer, whose records are deleted with them.
        Event::Delete { key, revision } => match classify(key)? {
            KeyClass::Record(key) => Some(WatchEvent::Delete {
                key,
                revision: *revision,
            }),
            _ => None,
        },
    }
}

fn classify(key: &str) -> Option<KeyClass> {
    layout::classify(key)
        .inspect_err(|error| tracing::warn!(%error, "skipping a store key of unknown shape"))
        .ok()
}
