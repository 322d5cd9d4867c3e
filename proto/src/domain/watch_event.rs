use bytes::Bytes;

use crate::{
    ClusterName, PeerState, Record, RecordKind, StoreKey, SyncedMarker, ValidationError,
    error::{ResultExt, ValidationErrorKind},
    pb,
};

/// One event of `Mesh.Watch` or `PeerExport.Watch`, validated. See `events.proto` for
/// the snapshot protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    SnapshotBegin {
        revision: i64,
    },
    SnapshotEnd {
        revision: i64,
        /// The store history `revision` belongs to; sent back with the resume revision.
        epoch: String,
    },
    Upsert {
        record: Record,
        /// `record` as it came on the wire: the bytes the exporting cluster stores, which
        /// an importer stores in turn without encoding the record again.
        encoded: Bytes,
        revision: i64,
    },
    Delete {
        key: StoreKey,
        revision: i64,
    },
    Synced(SyncedMarker),
    Bookmark {
        revision: i64,
    },
    /// `Mesh.Watch` only.
    PeerState(PeerState),
    /// `PeerExport.Watch` only.
    Heartbeat {
        unix_ms: i64,
        revision: i64,
    },
}

impl WatchEvent {
    /// An upsert of `record`, encoded.
    pub fn upsert(record: Record, revision: i64) -> Self {
        Self::Upsert {
            encoded: record.encode(),
            record,
            revision,
        }
    }

    fn from_upsert(msg: pb::Upsert) -> Result<Self, ValidationError> {
        Ok(Self::Upsert {
            record: Record::decode(&msg.record).at("upsert")?,
            encoded: msg.record,
            revision: msg.revision,
        })
    }

    fn from_delete(msg: pb::Delete) -> Result<Self, ValidationError> {
        let cluster = ClusterName::new(msg.cluster).at("cluster").at("delete")?;
        let kind = RecordKind::try_from(msg.kind).at("kind").at("delete")?;
        let key = StoreKey::new(cluster, kind, msg.key)
            .map_err(|e| ValidationErrorKind::Key(Box::new(e)))
            .at("key")
            .at("delete")?;
        Ok(Self::Delete {
            key,
            revision: msg.revision,
        })
    }

    fn from_synced(msg: pb::Synced) -> Result<Self, ValidationError> {
        let marker = msg
            .marker
            .ok_or(ValidationErrorKind::Missing("marker"))
            .at("synced")?;
        SyncedMarker::try_from(marker).map(Self::Synced)
    }
}

impl TryFrom<pb::WatchResponse> for WatchEvent {
    type Error = ValidationError;

    fn try_from(msg: pb::WatchResponse) -> Result<Self, Self::Error> {
        use pb::watch_response::Event as E;
        match msg.event.ok_or(ValidationErrorKind::Missing("event"))? {
            E::SnapshotBegin(b) => Ok(Self::SnapshotBegin {
                revision: b.revision,
            }),
            E::SnapshotEnd(e) => Ok(Self::SnapshotEnd {
                revision: e.revision,
                epoch: e.epoch,
            }),
            E::Upsert(u) => Self::from_upsert(u),
            E::Delete(d) => Self::from_delete(d),
            E::Synced(s) => Self::from_synced(s),
            E::Bookmark(b) => Ok(Self::Bookmark {
                revision: b.revision,
            }),
            E::PeerState(p) => PeerState::try_from(p).map(Self::PeerState),
        }
    }
}

impl TryFrom<pb::PeerWatchResponse> for WatchEvent {
    type Error = ValidationError;

    fn try_from(msg: pb::PeerWatchResponse) -> Result<Self, Self::Error> {
        use pb::peer_watch_response::Event as E;
        match msg.event.ok_or(ValidationErrorKind::Missing("event"))? {
            E::SnapshotBegin(b) => Ok(Self::SnapshotBegin {
                revision: b.revision,
            }),
            E::SnapshotEnd(e) => Ok(Self::SnapshotEnd {
                revision: e.revision,
                epoch: e.epoch,
            }),
            E::Upsert(u) => Self::from_upsert(u),
            E::Delete(d) => Self::from_delete(d),
            E::Synced(s) => Self::from_synced(s),
            E::Bookmark(b) => Ok(Self::Bookmark {
                revision: b.revision,
            }),
            E::Heartbeat(h) => Ok(Self::Heartbeat {
                unix_ms: h.unix_ms,
                revision: h.revision,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
