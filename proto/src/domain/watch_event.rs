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
    /// The wire form for `Mesh.Watch`; `None` for a heartbeat, which that stream lacks.
    pub fn into_mesh(self) -> Option<pb::WatchResponse> {
        use pb::watch_response::Event as E;
        let event = match self {
            Self::SnapshotBegin { revision } => E::SnapshotBegin(pb::SnapshotBegin { revision }),
            Self::SnapshotEnd { revision, epoch } => {
                E::SnapshotEnd(pb::SnapshotEnd { revision, epoch })
            }
            Self::Upsert { record, revision } => E::Upsert(upsert(record, revision)),
            Self::Delete { key, revision } => E::Delete(delete(key, revision)),
            Self::Synced(marker) => E::Synced(synced(marker)),
            Self::Bookmark { revision } => E::Bookmark(pb::Bookmark { revision }),
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
            Self::Upsert { record, revision } => E::Upsert(upsert(record, revision)),
            Self::Delete { key, revision } => E::Delete(delete(key, revision)),
            Self::Synced(marker) => E::Synced(synced(marker)),
            Self::Bookmark { revision } => E::Bookmark(pb::Bookmark { revision }),
            Self::Heartbeat { unix_ms, revision } => {
                E::Heartbeat(pb::Heartbeat { unix_ms, revision })
            }
            Self::PeerState(_) => return None,
        };
        Some(pb::PeerWatchResponse { event: Some(event) })
    }

    fn from_upsert(msg: pb::Upsert) -> Result<Self, ValidationError> {
        Ok(Self::Upsert {
            record: Record::try_from(msg.record).at("upsert")?,
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

fn upsert(record: Record, revision: i64) -> pb::Upsert {
    pb::Upsert {
        record: Some(record.into()),
        revision,
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
