//! The serialized form of a `KvState`, for raft snapshots.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::{KvState, KvStateConfig, Lease, Stored};
use crate::store::{LeaseId, Revision};

/// The serialized form of a [`KvState`], used for raft snapshots. History is not part
/// of it: a replica restored from a snapshot starts with its compaction point there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KvSnapshot {
    revision: Revision,
    next_lease_id: i64,
    keys: Vec<(String, Stored)>,
    leases: Vec<(LeaseId, u64)>,
}

impl KvState {
    pub fn to_snapshot(&self) -> KvSnapshot {
        KvSnapshot {
            revision: self.revision,
            next_lease_id: self.next_lease_id,
            keys: self
                .keys
                .iter()
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect(),
            leases: self.leases().collect(),
        }
    }

    pub fn from_snapshot(config: KvStateConfig, snap: KvSnapshot) -> Self {
        let mut leases: BTreeMap<LeaseId, Lease> = snap
            .leases
            .into_iter()
            .map(|(id, ttl_ms)| {
                let lease = Lease {
                    ttl_ms,
                    keys: BTreeSet::new(),
                };
                (id, lease)
            })
            .collect();
        for (key, stored) in &snap.keys {
            if let Some(lease) = stored.lease.and_then(|id| leases.get_mut(&id)) {
                lease.keys.insert(key.clone());
            }
        }
        KvState {
            config,
            revision: snap.revision,
            compact_revision: snap.revision,
            next_lease_id: snap.next_lease_id,
            keys: snap.keys.into_iter().collect(),
            leases,
            history: VecDeque::new(),
            history_events: 0,
        }
    }
}
