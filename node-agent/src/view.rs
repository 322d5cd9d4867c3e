//! The merged view: every cluster's records, synced markers and peer states, as the
//! local apiserver's `Mesh.Watch` stream delivers them.
//!
//! The snapshot protocol is the one of `events.proto`: after `SnapshotBegin` the view
//! keeps applying events and notes every key it sees; at `SnapshotEnd` it drops what it
//! held and did not see. It never flushes first, so a reconnect that re-sends the same
//! state changes nothing and the dataplane does not flap.

mod access;
mod by_cluster;
mod endpoints;
mod identities;
mod records;

use std::collections::{BTreeMap, BTreeSet};

use clustermesh_proto::{ClusterName, PeerState, StoreKey, SyncedKey, SyncedMarker, WatchEvent};
use tracing::debug;

use self::records::Records;
pub use self::records::ServiceName;
pub use self::{by_cluster::ByCluster, endpoints::EndpointRef, identities::IdentityRef};

/// Where to resume `Mesh.Watch` after a disconnect (`WatchRequest.resume_revision` and
/// `resume_epoch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumePoint {
    pub revision: i64,
    pub epoch: String,
}

/// An event the view refuses. The view is unchanged by it, so the caller may log it
/// and go on; a server that keeps sending such events should be reconnected to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("SnapshotEnd at revision {revision} without a SnapshotBegin")]
    SnapshotEndWithoutBegin { revision: i64 },
    /// Heartbeats belong to `PeerExport.Watch`; on `Mesh.Watch` they mean the agent is
    /// talking to the wrong API, which is worth surfacing rather than hiding.
    #[error("unexpected Heartbeat on Mesh.Watch (it belongs to PeerExport.Watch)")]
    UnexpectedHeartbeat,
}

/// Keys seen since `SnapshotBegin`; endpoints and identities are marked instead
/// (`MergedView::mark`).
#[derive(Debug, Default)]
struct Seen {
    records: BTreeSet<StoreKey>,
    synced: BTreeSet<SyncedKey>,
    peers: BTreeSet<ClusterName>,
}

#[derive(Debug, Default)]
pub struct MergedView {
    records: Records,
    synced: BTreeMap<SyncedKey, SyncedMarker>,
    peers: BTreeMap<ClusterName, PeerState>,
    resume: Option<ResumePoint>,
    /// `Some` between `SnapshotBegin` and `SnapshotEnd`.
    snapshot: Option<Seen>,
    /// Counts snapshots begun; an endpoint or identity carries the value current when
    /// it was last sent, so those not sent since the latest `SnapshotBegin` are the
    /// stale ones.
    mark: u32,
    /// Bumped whenever something the planner reads changes.
    generation: u64,
}

impl MergedView {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one validated event. On error the view is unchanged.
    pub fn apply(&mut self, event: WatchEvent) -> Result<(), ViewError> {
        match event {
            WatchEvent::SnapshotBegin { revision } => {
                // A snapshot already open means the previous stream broke in the middle
                // of it. What it delivered is newer than what we held, so it stays; only
                // the bookkeeping starts again.
                if self.snapshot.is_some() {
                    debug!(revision, "snapshot restarted before its end");
                }
                self.snapshot = Some(Seen::default());
                self.mark = self.mark.wrapping_add(1);
            }
            WatchEvent::SnapshotEnd { revision, epoch } => {
                let seen = self
                    .snapshot
                    .take()
                    .ok_or(ViewError::SnapshotEndWithoutBegin { revision })?;
                self.prune(&seen);
                self.resume = Some(ResumePoint { revision, epoch });
            }
            WatchEvent::Upsert {
                record, revision, ..
            } => {
                let (key, changed) = self.records.upsert(record, self.mark);
                self.bump(changed);
                if let (Some(seen), Some(key)) = (&mut self.snapshot, key) {
                    seen.records.insert(key);
                }
                self.advance(revision);
            }
            WatchEvent::Delete { key, revision } => {
                let removed = self.records.remove(&key);
                self.bump(removed);
                // Deleted after it was listed: it must not count as seen.
                if let Some(seen) = &mut self.snapshot {
                    seen.records.remove(&key);
                }
                self.advance(revision);
            }
            WatchEvent::Synced(marker) => {
                let key = SyncedKey::new(marker.cluster.clone(), marker.kind);
                let changed = self.synced.get(&key) != Some(&marker);
                self.synced.insert(key.clone(), marker);
                self.bump(changed);
                if let Some(seen) = &mut self.snapshot {
                    seen.synced.insert(key);
                }
            }
            WatchEvent::Bookmark { revision } => self.advance(revision),
            WatchEvent::PeerState(state) => {
                let cluster = state.cluster.clone();
                let changed = self.peers.get(&cluster) != Some(&state);
                self.peers.insert(cluster.clone(), state);
                self.bump(changed);
                if let Some(seen) = &mut self.snapshot {
                    seen.peers.insert(cluster);
                }
            }
            WatchEvent::Heartbeat { .. } => return Err(ViewError::UnexpectedHeartbeat),
        }
        Ok(())
    }

    /// Where to resume; `None` until the first snapshot has ended, so the watch asks
    /// for one (resume revision 0).
    pub fn resume_point(&self) -> Option<&ResumePoint> {
        self.resume.as_ref()
    }

    /// Whether a complete snapshot has been applied. Until then the view is partial and
    /// planning from it would withdraw what is programmed.
    pub fn is_initialized(&self) -> bool {
        self.resume.is_some()
    }

    /// Whether a snapshot is being received.
    pub fn in_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Changes whenever the content changes (not the resume point), so a caller can
    /// skip planning when an event changed nothing.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn bump(&mut self, changed: bool) {
        if changed {
            self.generation = self.generation.wrapping_add(1);
        }
    }

    /// Live events move the resume point. Snapshot upserts carry the revision the record
    /// was last modified at, not the stream's position, so they do not; nor does
    /// anything before the first `SnapshotEnd`, which has no epoch to pair it with.
    fn advance(&mut self, revision: i64) {
        if self.snapshot.is_some() {
            return;
        }
        if let Some(resume) = &mut self.resume {
            // Events arrive in revision order; `max` keeps a misordered one from
            // moving the resume point back and replaying history.
            resume.revision = resume.revision.max(revision);
        }
    }

    fn prune(&mut self, seen: &Seen) {
        let mut removed = false;
        for key in self.records.keys() {
            if !seen.records.contains(&key) {
                debug!(%key, "not in snapshot, dropped");
                removed |= self.records.remove(&key);
            }
        }
        removed |= self.records.endpoints.sweep(self.mark);
        removed |= self.records.identities.sweep(self.mark);
        let (synced, peers) = (self.synced.len(), self.peers.len());
        self.synced.retain(|key, _| seen.synced.contains(key));
        self.peers.retain(|cluster, _| seen.peers.contains(cluster));
        removed |= synced != self.synced.len() || peers != self.peers.len();
        self.bump(removed);
    }
}

#[cfg(test)]
mod tests;
