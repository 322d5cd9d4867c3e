//! What a feed sends, and its wire forms. Records stay in the encoding the store holds:
//! they were validated on their way into the store (exporter, importer), and every
//! receiver validates them again, so decoding them here too would only cost time.

use bytes::Bytes;
use clustermesh_proto::{PeerState, StoreKey, SyncedMarker, pb};

#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    SnapshotBegin {
        revision: i64,
    },
    SnapshotEnd {
        revision: i64,
        epoch: String,
    },
    /// An encoded `Record`, as stored.
    Upsert {
        record: Bytes,
        revision: i64,
    },
    Delete {
        key: StoreKey,
        revision: i64,
    },
    Synced(SyncedMarker),
    /// `Mesh.Watch` only.
    PeerState(PeerState),
    /// `PeerExport.Watch` only.
    Heartbeat {
        unix_ms: i64,
        revision: i64,
    },
}

impl FeedEvent {
    /// The wire form for `Mesh.Watch`; `None` for a heartbeat, which that stream lacks.
    pub fn into_mesh(self) -> Option<pb::WatchResponse> {
        use pb::watch_response::Event as E;
        let event = match self {
            Self::SnapshotBegin { revision } => E::SnapshotBegin(pb::SnapshotBegin { revision }),
            Self::SnapshotEnd { revision, epoch } => {
                E::SnapshotEnd(pb::SnapshotEnd { revision, epoch })
            }
            Self::Upsert { record, revision } => E::Upsert(pb::Upsert { record, revision }),
            Self::Delete { key, revision } => E::Delete(delete(key, revision)),
            Self::Synced(marker) => E::Synced(synced(marker)),
            Self::PeerState(state) => E::PeerState(state.into()),
            Self::Heartbeat { .. } => return None,
        };
        Some(pb::WatchResponse { event: Some(event) })
    }

    /// The wire form for `PeerExport.Watch`; `None` for a peer state, which that
    /// stream lacks.
    pub fn into_peer(self) -> Option<pb::PeerWatchResponse> {
        use pb::peer_watch_response::Event as E;
        let event = match self {
            Self::SnapshotBegin { revision } => E::SnapshotBegin(pb::SnapshotBegin { revision }),
            Self::SnapshotEnd { revision, epoch } => {
                E::SnapshotEnd(pb::SnapshotEnd { revision, epoch })
            }
            Self::Upsert { record, revision } => E::Upsert(pb::Upsert { record, revision }),
            Self::Delete { key, revision } => E::Delete(delete(key, revision)),
            Self::Synced(marker) => E::Synced(synced(marker)),
            Self::Heartbeat { unix_ms, revision } => {
                E::Heartbeat(pb::Heartbeat { unix_ms, revision })
            }
            Self::PeerState(_) => return None,
        };
        Some(pb::PeerWatchResponse { event: Some(event) })
    }
}

fn delete(key: StoreKey, revision: i64) -> pb::Delete {
    pb::Delete {
        kind: pb::RecordKind::from(key.kind()).into(),
        cluster: key.cluster().to_string(),
        key: key.name().to_owned(),
        revision,
    }
}

fn synced(marker: SyncedMarker) -> pb::Synced {
    pb::Synced {
        marker: Some(marker.into()),
    }
}
