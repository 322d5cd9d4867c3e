use crate::{ClusterName, ValidationError, error::ResultExt, pb};

/// The importing apiserver's view of a peer, sent to its agents. Agents drop the
/// backends of an unreachable peer but keep its tunnels and routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    pub cluster: ClusterName,
    pub reachable: bool,
    /// `None` until a first heartbeat arrives.
    pub last_heartbeat_unix_ms: Option<i64>,
}

impl TryFrom<pb::PeerState> for PeerState {
    type Error = ValidationError;

    fn try_from(msg: pb::PeerState) -> Result<Self, Self::Error> {
        Ok(Self {
            cluster: ClusterName::new(msg.cluster)
                .at("cluster")
                .at("peer state")?,
            reachable: msg.reachable,
            last_heartbeat_unix_ms: Some(msg.last_heartbeat_unix_ms).filter(|ms| *ms != 0),
        })
    }
}

impl From<PeerState> for pb::PeerState {
    fn from(s: PeerState) -> Self {
        Self {
            cluster: s.cluster.into(),
            reachable: s.reachable,
            last_heartbeat_unix_ms: s.last_heartbeat_unix_ms.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        for ms in [0, 1_700_000_000_000] {
            let msg = pb::PeerState {
                cluster: "c2".into(),
                reachable: ms != 0,
                last_heartbeat_unix_ms: ms,
            };
            let domain = PeerState::try_from(msg.clone()).expect("valid");
            assert_eq!(domain.last_heartbeat_unix_ms.is_some(), ms != 0);
            assert_eq!(pb::PeerState::from(domain), msg);
        }
    }

    #[test]
    fn rejects_bad_cluster() {
        let msg = pb::PeerState {
            cluster: "default".into(),
            ..Default::default()
        };
        let err = PeerState::try_from(msg).expect_err("reserved name");
        assert!(
            err.to_string().starts_with("peer state: cluster: "),
            "{err}"
        );
    }
}
