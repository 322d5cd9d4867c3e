//! The importer's pure core: a peer's watch events in, store writes out. It checks that
//! every event is about the peer itself (a peer can only ever speak for its own
//! prefix), and it removes what a snapshot no longer holds only once the snapshot is
//! complete, so a reconnect never blanks the peer's records in between.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher as _;

use bytes::Bytes;
use clustermesh_proto::{
    ClusterId, ClusterName, Keyed, Record, RecordKind, SyncedKey, SyncedMarker, WatchEvent,
    record_key,
};

use crate::feed::Resume;
use crate::layout::{self, KeyClass};
use crate::store::{KeyValue, WriteOp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MirrorError {
    #[error("peer {peer} sent a record of cluster {other} ({key}); a peer may only export its own")]
    Foreign {
        peer: ClusterName,
        other: ClusterName,
        key: String,
    },
    #[error("peer {peer} now reports cluster id {reported}, but was connected with id {expected}")]
    IdChanged {
        peer: ClusterName,
        expected: ClusterId,
        reported: ClusterId,
    },
    #[error("peer {peer} sent {event} outside a snapshot")]
    Protocol {
        peer: ClusterName,
        event: &'static str,
    },
}

/// The local copy of one peer's exports.
#[derive(Debug)]
pub struct Mirror {
    peer: ClusterName,
    peer_id: ClusterId,
    /// The peer's records as held in the local store. Hashed, not ordered: a
    /// million keys that share their first dozen bytes made the B-tree's comparisons a
    /// fifth of an import. Each record carries the generation of the last snapshot that
    /// held it, and a digest of its value, not the value: the local store holds that,
    /// and a second copy of every peer record cost as much memory again.
    records: HashMap<String, Held, Hasher>,
    /// Digests of values, to tell an unchanged record sent again: foldhash's quality
    /// variant, whose output is fully mixed, since equal digests are taken as equal
    /// values.
    digests: foldhash::quality::RandomState,
    /// How many of `records` are of each kind, kept as they change: the importer
    /// publishes counts after every write, and walking a million keys each time made a
    /// large snapshot's import quadratic.
    counts: BTreeMap<RecordKind, usize>,
    /// Kinds whose synced marker is in the local store.
    synced: BTreeSet<RecordKind>,
    /// The markers to write at the end of the snapshot in progress.
    snapshot: Option<Vec<SyncedMarker>>,
    /// The snapshot in progress, or the last: a record whose generation differs at the
    /// snapshot's end was not in it. A number per record, not a set of the keys seen,
    /// which cost a million key copies and hash inserts on a first import.
    generation: u64,
    /// Stale keys of kinds the last snapshot had no synced marker for: the peer had not
    /// finished its own export (it restarted), so they are deleted only once it has.
    pending_gc: BTreeMap<RecordKind, BTreeSet<String>>,
    resume: Resume,
}

impl Mirror {
    /// Starts from what the local store holds under the peer's prefix.
    pub fn new(peer: ClusterName, peer_id: ClusterId, held: &[KeyValue]) -> Self {
        let mut records = HashMap::default();
        let digests = foldhash::quality::RandomState::default();
        let mut counts = BTreeMap::new();
        let mut synced = BTreeSet::new();
        for kv in held {
            match layout::classify(&kv.key) {
                Ok(KeyClass::Record(key)) => {
                    let held = Held {
                        digest: digests.hash_one(&kv.value[..]),
                        generation: 0,
                    };
                    let added = records.insert(kv.key.clone(), held).is_none();
                    *counts.entry(key.kind()).or_default() += usize::from(added);
                }
                Ok(KeyClass::Synced(key)) => {
                    synced.insert(key.kind);
                }
                _ => {}
            }
        }
        Self {
            peer,
            peer_id,
            records,
            digests,
            counts,
            synced,
            snapshot: None,
            generation: 0,
            pending_gc: BTreeMap::new(),
            resume: Resume::default(),
        }
    }

    /// Where to resume the peer's stream after a disconnect.
    pub fn resume(&self) -> Resume {
        self.resume.clone()
    }

    pub fn synced_kinds(&self) -> &BTreeSet<RecordKind> {
        &self.synced
    }

    /// Records held, by kind; kinds with none are left out.
    pub fn counts(&self) -> &BTreeMap<RecordKind, usize> {
        &self.counts
    }

    /// Forgets a half-received snapshot: after a disconnect the next one starts afresh.
    pub fn disconnected(&mut self) {
        self.snapshot = None;
    }

    /// The store writes `event` calls for. Heartbeats produce none.
    pub fn apply(&mut self, event: WatchEvent) -> Result<Vec<WriteOp>, MirrorError> {
        match event {
            WatchEvent::SnapshotBegin { .. } => {
                self.snapshot = Some(Vec::new());
                self.generation += 1;
                // The new snapshot decides afresh what is stale.
                self.pending_gc.clear();
                Ok(Vec::new())
            }
            WatchEvent::Upsert {
                record,
                encoded,
                revision,
            } => self.upsert(record, &encoded, revision),
            WatchEvent::Delete { key, revision } => {
                self.check_cluster(key.cluster(), &key.to_string())?;
                self.advance(revision);
                let kind = key.kind();
                let key = key.to_string();
                self.unpend(kind, &key);
                Ok(match self.remove(&key, kind) {
                    true => vec![WriteOp::Delete { key }],
                    false => Vec::new(),
                })
            }
            WatchEvent::Synced(marker) => {
                self.check_cluster(&marker.cluster, "synced marker")?;
                match self.snapshot.as_mut() {
                    Some(markers) => {
                        markers.push(marker);
                        Ok(Vec::new())
                    }
                    None => {
                        self.synced.insert(marker.kind);
                        let stale = self.pending_gc.remove(&marker.kind).unwrap_or_default();
                        let mut ops = self.delete_all(stale);
                        ops.push(put_marker(&marker));
                        Ok(ops)
                    }
                }
            }
            WatchEvent::SnapshotEnd { revision, epoch } => self.end_snapshot(revision, epoch),
            WatchEvent::Bookmark { revision } => {
                self.advance(revision);
                Ok(Vec::new())
            }
            // The feed's last delivered revision: a safe resume point.
            WatchEvent::Heartbeat { revision, .. } => {
                self.advance(revision);
                Ok(Vec::new())
            }
            WatchEvent::PeerState(_) => Err(MirrorError::Protocol {
                peer: self.peer.clone(),
                event: "a peer state",
            }),
        }
    }

    /// `encoded` is stored as it came, validated as `record`: encoding the record again
    /// would cost more than the rest of the import.
    fn upsert(
        &mut self,
        record: Record,
        encoded: &[u8],
        revision: i64,
    ) -> Result<Vec<WriteOp>, MirrorError> {
        let key = record_key(&record);
        self.check_cluster(record.cluster(), &key)?;
        if let Record::Cluster(cluster) = &record
            && cluster.id != self.peer_id
        {
            return Err(MirrorError::IdChanged {
                peer: self.peer.clone(),
                expected: self.peer_id,
                reported: cluster.id,
            });
        }
        if self.snapshot.is_none() {
            self.advance(revision);
        }
        self.unpend(record.kind(), &key);
        let held = Held {
            digest: self.digests.hash_one(encoded),
            generation: self.generation,
        };
        match self.records.get_mut(&key) {
            Some(old) => {
                let unchanged = old.digest == held.digest;
                *old = held;
                if unchanged {
                    return Ok(Vec::new());
                }
            }
            None => {
                self.records.insert(key.clone(), held);
                *self.counts.entry(record.kind()).or_default() += 1;
            }
        }
        // A copy: the event's bytes may be a slice of the connection's read buffer, all
        // of which a store that keeps the value would otherwise keep alive.
        Ok(vec![WriteOp::Put {
            key,
            value: Bytes::copy_from_slice(encoded),
            lease: None,
        }])
    }

    fn end_snapshot(&mut self, revision: i64, epoch: String) -> Result<Vec<WriteOp>, MirrorError> {
        let Some(markers) = self.snapshot.take() else {
            return Err(MirrorError::Protocol {
                peer: self.peer.clone(),
                event: "SnapshotEnd",
            });
        };
        let now_synced: BTreeSet<RecordKind> = markers.iter().map(|m| m.kind).collect();
        let mut stale_now = Vec::new();
        let stale = self
            .records
            .iter()
            .filter(|(_, held)| held.generation != self.generation);
        for (key, _) in stale {
            match kind_of(key) {
                Some(kind) if !now_synced.contains(&kind) => {
                    self.pending_gc.entry(kind).or_default().insert(key.clone());
                }
                _ => stale_now.push(key.clone()),
            }
        }
        // In key order, as the store lists them.
        stale_now.sort_unstable();
        let mut ops = self.delete_all(stale_now);
        // A marker the peer no longer has (it restarted and has not finished its own
        // export) must not keep saying our copy is complete.
        for kind in self.synced.difference(&now_synced) {
            ops.push(WriteOp::Delete {
                key: SyncedKey::new(self.peer.clone(), *kind).to_string(),
            });
        }
        ops.extend(markers.iter().map(put_marker));
        self.synced = now_synced;
        self.resume = Resume { revision, epoch };
        Ok(ops)
    }

    fn delete_all(&mut self, keys: impl IntoIterator<Item = String>) -> Vec<WriteOp> {
        keys.into_iter()
            .filter(|key| kind_of(key).is_some_and(|kind| self.remove(key, kind)))
            .map(|key| WriteOp::Delete { key })
            .collect()
    }

    /// Removes a record of `kind`; whether there was one.
    fn remove(&mut self, key: &str, kind: RecordKind) -> bool {
        if self.records.remove(key).is_none() {
            return false;
        }
        if let Some(count) = self.counts.get_mut(&kind) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&kind);
            }
        }
        true
    }

    fn unpend(&mut self, kind: RecordKind, key: &str) {
        if let Some(keys) = self.pending_gc.get_mut(&kind) {
            keys.remove(key);
        }
    }

    fn advance(&mut self, revision: i64) {
        if self.snapshot.is_none() && revision > self.resume.revision {
            self.resume.revision = revision;
        }
    }

    fn check_cluster(&self, cluster: &ClusterName, key: &str) -> Result<(), MirrorError> {
        match *cluster == self.peer {
            true => Ok(()),
            false => Err(MirrorError::Foreign {
                peer: self.peer.clone(),
                other: cluster.clone(),
                key: key.to_owned(),
            }),
        }
    }
}

type Hasher = foldhash::fast::RandomState;

#[derive(Debug)]
struct Held {
    /// Of the value, with `Mirror::digests`: 64 bits, so two different values of one
    /// key collide once in 2^64 comparisons; a peer could only hide its own update.
    digest: u64,
    /// The last snapshot that held it (`Mirror::generation`).
    generation: u64,
}

fn kind_of(key: &str) -> Option<RecordKind> {
    match layout::classify(key) {
        Ok(KeyClass::Record(key)) => Some(key.kind()),
        _ => None,
    }
}

fn put_marker(marker: &SyncedMarker) -> WriteOp {
    WriteOp::Put {
        key: SyncedKey::new(marker.cluster.clone(), marker.kind).to_string(),
        value: layout::encode_synced(marker),
        lease: None,
    }
}
