use crate::{ClusterName, RecordKind, ValidationError, error::ResultExt, pb};

/// Says that the export (or import) of one kind for one cluster is complete, stored
/// under `<cluster>/synced/<kind>`. Until it is seen, consumers must not prune that
/// kind for that cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedMarker {
    pub cluster: ClusterName,
    pub kind: RecordKind,
    pub revision: i64,
}

impl TryFrom<pb::SyncedMarker> for SyncedMarker {
    type Error = ValidationError;

    fn try_from(msg: pb::SyncedMarker) -> Result<Self, Self::Error> {
        let at = "synced marker";
        Ok(Self {
            cluster: ClusterName::new(msg.cluster).at("cluster").at(at)?,
            kind: RecordKind::try_from(msg.kind).at("kind").at(at)?,
            revision: msg.revision,
        })
    }
}

impl From<SyncedMarker> for pb::SyncedMarker {
    fn from(m: SyncedMarker) -> Self {
        Self {
            cluster: m.cluster.into(),
            kind: pb::RecordKind::from(m.kind).into(),
            revision: m.revision,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> pb::SyncedMarker {
        pb::SyncedMarker {
            cluster: "c1".into(),
            kind: pb::RecordKind::GlobalService.into(),
            revision: 42,
        }
    }

    #[test]
    fn roundtrip() {
        let domain = SyncedMarker::try_from(marker()).expect("valid");
        assert_eq!(domain.kind, RecordKind::GlobalService);
        assert_eq!(pb::SyncedMarker::from(domain), marker());
    }

    #[test]
    fn rejections() {
        let err = SyncedMarker::try_from(pb::SyncedMarker {
            kind: 0,
            ..marker()
        })
        .expect_err("kind");
        assert_eq!(
            err.to_string(),
            "synced marker: kind: kind must be specified"
        );
        let err = SyncedMarker::try_from(pb::SyncedMarker {
            kind: 17,
            ..marker()
        })
        .expect_err("kind");
        assert_eq!(
            err.to_string(),
            "synced marker: kind: unknown record kind value 17"
        );
        let msg = pb::SyncedMarker {
            cluster: "C1".into(),
            ..marker()
        };
        assert!(SyncedMarker::try_from(msg).is_err());
    }
}
