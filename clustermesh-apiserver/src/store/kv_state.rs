//! The deterministic heart of the memory and raft backends.
//!
//! `KvState` applies [`Command`]s and nothing else, so every raft replica that applies
//! the same log reaches the same keys, revisions and lease set. Time never enters it:
//! lease deadlines live outside (see `lease_clock`) and expiry arrives as a command.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{
    Cas, CasAction, CasOutcome, DeleteOutcome, Event, KeyValue, LeaseId, ListResult, Revision,
    StoreError, WriteOp,
};

mod command;
mod snapshot;
#[cfg(test)]
mod tests;

pub use command::{Command, CommandResponse};
pub use snapshot::KvSnapshot;

/// Batches at least this large are applied in key order.
const SORTED_FROM: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct KvStateConfig {
    /// How many events of history to keep for resuming watches; older ones are compacted.
    pub history_limit: usize,
}

impl Default for KvStateConfig {
    fn default() -> Self {
        KvStateConfig {
            history_limit: 200_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    value: Bytes,
    create_revision: Revision,
    mod_revision: Revision,
    lease: Option<LeaseId>,
}

#[derive(Debug, Clone, Default)]
struct Lease {
    ttl_ms: u64,
    keys: BTreeSet<String>,
}

#[derive(Debug)]
pub struct KvState {
    config: KvStateConfig,
    revision: Revision,
    compact_revision: Revision,
    next_lease_id: i64,
    keys: BTreeMap<String, Stored>,
    leases: BTreeMap<LeaseId, Lease>,
    /// Each revision's events, oldest first, for resuming watches. A revision's events
    /// are one shared allocation: the watchers they are published to hold the same.
    history: VecDeque<Arc<[Event]>>,
    /// How many events `history` holds, which its limit counts.
    history_events: usize,
}

/// The events of one applied command: one shared batch per revision it created (a
/// group creates several).
pub type Applied = Vec<Arc<[Event]>>;

impl KvState {
    pub fn new(config: KvStateConfig) -> Self {
        KvState {
            config,
            revision: 0,
            compact_revision: 0,
            next_lease_id: 1,
            keys: BTreeMap::new(),
            leases: BTreeMap::new(),
            history: VecDeque::new(),
            history_events: 0,
        }
    }

    pub fn revision(&self) -> Revision {
        self.revision
    }

    pub fn compact_revision(&self) -> Revision {
        self.compact_revision
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<KeyValue> {
        self.keys.get(key).map(|s| to_kv(key, s))
    }

    pub fn list(&self, prefix: &str) -> ListResult {
        let items = self.under(prefix).map(|(k, s)| to_kv(k, s)).collect();
        ListResult {
            items,
            revision: self.revision,
        }
    }

    pub fn has_lease(&self, id: LeaseId) -> bool {
        self.leases.contains_key(&id)
    }

    /// Every live lease and its TTL, for whoever keeps the lease clock.
    pub fn leases(&self) -> impl Iterator<Item = (LeaseId, u64)> + '_ {
        self.leases.iter().map(|(id, l)| (*id, l.ttl_ms))
    }

    /// The events under `prefix` after revision `after`, or `Compacted` if that part of
    /// history is gone.
    pub fn history_after(&self, prefix: &str, after: Revision) -> Result<Vec<Event>, StoreError> {
        if after < self.compact_revision {
            return Err(StoreError::Compacted {
                requested: after,
                compacted: self.compact_revision,
            });
        }
        let start = self.history.partition_point(|b| batch_revision(b) <= after);
        Ok(self
            .history
            .range(start..)
            .flat_map(|batch| batch.iter())
            .filter(|e| e.key().starts_with(prefix))
            .cloned()
            .collect())
    }

    /// Applies one command. On success the returned events all carry the same, new
    /// revision (or there are none, when nothing changed). A failed command changes
    /// nothing, deterministically, so replicas stay in step.
    pub fn apply(&mut self, cmd: Command) -> (Result<CommandResponse, StoreError>, Applied) {
        if let Command::Group(cmds) = cmd {
            let mut results = Vec::with_capacity(cmds.len());
            let mut events = Applied::new();
            for cmd in cmds {
                let (result, more) = match cmd {
                    Command::Group(_) => (
                        Err(StoreError::InvalidArgument("groups do not nest".into())),
                        Vec::new(),
                    ),
                    cmd => self.apply(cmd),
                };
                results.push(result);
                events.extend(more);
            }
            return (Ok(CommandResponse::Group(results)), events);
        }
        let before = self.revision;
        let result = match cmd {
            Command::Put { key, value, lease } => self
                .write(vec![WriteOp::Put { key, value, lease }])
                .map(|(rev, _)| CommandResponse::Revision(rev)),
            Command::Delete { key } => {
                self.write(vec![WriteOp::Delete { key }])
                    .map(|(revision, deleted)| {
                        CommandResponse::Deleted(DeleteOutcome { deleted, revision })
                    })
            }
            Command::DeletePrefix { prefix } => {
                let keys = self.list_keys(&prefix);
                let ops = keys
                    .into_iter()
                    .map(|key| WriteOp::Delete { key })
                    .collect();
                self.write(ops).map(|(revision, deleted)| {
                    CommandResponse::Deleted(DeleteOutcome { deleted, revision })
                })
            }
            Command::Batch(ops) => self
                .write(ops)
                .map(|(rev, _)| CommandResponse::Revision(rev)),
            Command::Cas(cas) => self.cas(cas).map(CommandResponse::Cas),
            Command::GrantLease { ttl_ms } => {
                let id = LeaseId(self.next_lease_id);
                self.next_lease_id += 1;
                self.leases.insert(
                    id,
                    Lease {
                        ttl_ms,
                        keys: BTreeSet::new(),
                    },
                );
                Ok(CommandResponse::LeaseGranted { id, ttl_ms })
            }
            Command::RevokeLease { id } => match self.leases.contains_key(&id) {
                true => self.end_leases(&[id]).map(|_| CommandResponse::Done),
                false => Err(StoreError::LeaseNotFound(id.0)),
            },
            Command::ExpireLeases { ids } => self.end_leases(&ids).map(|_| CommandResponse::Done),
            Command::Compact { revision } => self.compact(revision).map(|_| CommandResponse::Done),
            Command::Group(_) => unreachable_group(),
        };
        let events = match self.revision > before {
            true => self.events_of_current_apply(),
            false => Applied::new(),
        };
        (result, events)
    }

    /// Keys under `prefix`, in order.
    fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a String, &'a Stored)> + 'a {
        self.keys
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
    }

    fn list_keys(&self, prefix: &str) -> Vec<String> {
        self.under(prefix).map(|(k, _)| k.clone()).collect()
    }

    /// Validates every op first, so a batch applies whole or not at all. Returns the
    /// revision and how many keys changed.
    fn write(&mut self, ops: Vec<WriteOp>) -> Result<(Revision, u64), StoreError> {
        // Keys come from this process's own writers and peers already validated; a fast
        // hash is enough to catch a repeated one.
        let mut seen: HashSet<&str, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(ops.len(), Default::default());
        for op in &ops {
            let key = match op {
                WriteOp::Put { key, lease, .. } => {
                    if let Some(id) = lease
                        && !self.leases.contains_key(id)
                    {
                        return Err(StoreError::LeaseNotFound(id.0));
                    }
                    key
                }
                WriteOp::Delete { key } => key,
            };
            validate_key(key)?;
            if !seen.insert(key.as_str()) {
                return Err(StoreError::InvalidArgument(format!(
                    "key {key:?} appears twice in one batch"
                )));
            }
        }
        let changes = ops
            .iter()
            .filter(|op| match op {
                WriteOp::Put { .. } => true,
                WriteOp::Delete { key } => self.keys.contains_key(key),
            })
            .count() as u64;
        if changes == 0 {
            return Ok((self.revision, 0));
        }
        let rev = self.revision + 1;
        self.revision = rev;
        let events: Arc<[Event]> = match ops.len() < SORTED_FROM {
            true => (ops.into_iter())
                .filter_map(|op| self.apply_op(rev, op))
                .collect(),
            false => self.apply_sorted(rev, ops),
        };
        self.history_events += events.len();
        self.history.push_back(events);
        Ok((rev, changes))
    }

    fn cas(&mut self, cas: Cas) -> Result<CasOutcome, StoreError> {
        validate_key(&cas.key)?;
        let current = self.keys.get(&cas.key).map(|s| s.mod_revision);
        if current != cas.expected_mod_revision {
            return Ok(CasOutcome::Conflict {
                current: self.get(&cas.key),
            });
        }
        let op = match cas.action {
            CasAction::Put { value, lease } => WriteOp::Put {
                key: cas.key,
                value,
                lease,
            },
            CasAction::Delete => WriteOp::Delete { key: cas.key },
        };
        let (revision, _) = self.write(vec![op])?;
        Ok(CasOutcome::Swapped { revision })
    }

    fn end_leases(&mut self, ids: &[LeaseId]) -> Result<(), StoreError> {
        let mut doomed = Vec::new();
        for id in ids {
            if let Some(lease) = self.leases.remove(id) {
                doomed.extend(lease.keys);
            }
        }
        let ops = doomed
            .into_iter()
            .map(|key| WriteOp::Delete { key })
            .collect();
        self.write(ops).map(|_| ())
    }

    fn compact(&mut self, revision: Revision) -> Result<(), StoreError> {
        if revision > self.revision {
            return Err(StoreError::InvalidArgument(format!(
                "cannot compact at revision {revision}: current revision is {}",
                self.revision
            )));
        }
        self.compact_to(revision);
        Ok(())
    }

    fn compact_to(&mut self, revision: Revision) {
        if revision <= self.compact_revision {
            return;
        }
        while let Some(oldest) = self.history.front()
            && batch_revision(oldest) <= revision
        {
            self.history_events -= oldest.len();
            self.history.pop_front();
        }
        self.compact_revision = revision;
    }

    /// Applies a large batch in key order, which keeps the key map's nodes on the path
    /// of the next key in cache (a million keys took a third less time to insert in
    /// batches so sorted), and gives its events in the batch's order.
    fn apply_sorted(&mut self, rev: Revision, ops: Vec<WriteOp>) -> Arc<[Event]> {
        let mut ops: Vec<(usize, WriteOp)> = ops.into_iter().enumerate().collect();
        ops.sort_unstable_by(|(_, a), (_, b)| a.key().cmp(b.key()));
        let mut events: Vec<(usize, Event)> = (ops.into_iter())
            .filter_map(|(at, op)| Some((at, self.apply_op(rev, op)?)))
            .collect();
        events.sort_unstable_by_key(|(at, _)| *at);
        events.into_iter().map(|(_, event)| event).collect()
    }

    fn apply_op(&mut self, rev: Revision, op: WriteOp) -> Option<Event> {
        match op {
            WriteOp::Put { key, value, lease } => Some(self.put_at(rev, key, value, lease)),
            WriteOp::Delete { key } => self.delete_at(rev, key),
        }
    }

    fn put_at(
        &mut self,
        rev: Revision,
        key: String,
        value: Bytes,
        lease: Option<LeaseId>,
    ) -> Event {
        use std::collections::btree_map::Entry;
        // One search of the key map per put: it holds every key of the mesh.
        let event = match self.keys.entry(key) {
            Entry::Occupied(mut slot) => {
                let old_lease = slot.get().lease;
                if old_lease != lease {
                    if let Some(l) = old_lease.and_then(|id| self.leases.get_mut(&id)) {
                        l.keys.remove(slot.key());
                    }
                    if let Some(l) = lease.and_then(|id| self.leases.get_mut(&id)) {
                        l.keys.insert(slot.key().clone());
                    }
                }
                let stored = slot.get_mut();
                stored.value = value;
                stored.mod_revision = rev;
                stored.lease = lease;
                to_kv(slot.key(), slot.get())
            }
            Entry::Vacant(slot) => {
                if let Some(l) = lease.and_then(|id| self.leases.get_mut(&id)) {
                    l.keys.insert(slot.key().clone());
                }
                let key = slot.key().clone();
                let stored = slot.insert(Stored {
                    value,
                    create_revision: rev,
                    mod_revision: rev,
                    lease,
                });
                KeyValue {
                    key,
                    value: stored.value.clone(),
                    create_revision: rev,
                    mod_revision: rev,
                    lease,
                }
            }
        };
        Event::Put(event)
    }

    fn delete_at(&mut self, rev: Revision, key: String) -> Option<Event> {
        let old = self.keys.remove(&key)?;
        if let Some(l) = old.lease.and_then(|id| self.leases.get_mut(&id)) {
            l.keys.remove(&key);
        }
        Some(Event::Delete { key, revision: rev })
    }

    /// The events of the revision the apply just created; then history is trimmed.
    fn events_of_current_apply(&mut self) -> Applied {
        let events: Applied = (self.history.back())
            .filter(|batch| batch_revision(batch) == self.revision)
            .cloned()
            .into_iter()
            .collect();
        // Compact whole revisions only, so a resume point is never half a revision, and
        // never the revision just written.
        while self.history_events > self.config.history_limit
            && let Some(oldest) = self.history.front().map(|b| batch_revision(b))
            && oldest < self.revision
        {
            self.compact_to(oldest);
        }
        events
    }
}

/// The revision of a history batch: every event in it has the same, and it is never
/// empty (a write that changes nothing creates no revision).
fn batch_revision(batch: &[Event]) -> Revision {
    batch.first().map_or(0, Event::revision)
}

/// `apply` unpacks groups before dispatching, so a group never reaches the match.
fn unreachable_group() -> Result<CommandResponse, StoreError> {
    Err(StoreError::InvalidArgument("nested command group".into()))
}

fn to_kv(key: &str, s: &Stored) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: s.value.clone(),
        create_revision: s.create_revision,
        mod_revision: s.mod_revision,
        lease: s.lease,
    }
}

fn validate_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("key must not be empty".into()));
    }
    Ok(())
}
