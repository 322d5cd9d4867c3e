//! Everything this cluster should have under its prefix, kept across rounds, and which
//! keys changed since the store last matched it: a round writes what changed without
//! comparing every record.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use clustermesh_proto::record_key;

use super::Desired;
use crate::export::RecordChange;
use crate::layout;
use crate::store::WriteOp;

#[derive(Default)]
pub(super) struct DesiredRecords {
    records: Desired,
    /// Keys of the records rebuilt every round (cluster, nodes, global services).
    rebuilt: BTreeSet<String>,
    /// Each key changed since [`Self::written`], with its value before the first change.
    before: BTreeMap<String, Option<Bytes>>,
    /// Whether the store held these records at some point, so that `before` means
    /// something; until then a caller diffs against a listing.
    tracking: bool,
}

impl DesiredRecords {
    pub fn all(&self) -> &Desired {
        &self.records
    }

    pub fn apply(&mut self, change: RecordChange) {
        match change {
            RecordChange::Put(record) => {
                let key = record_key(&record);
                self.set(key, Some(layout::encode_record(&record)));
            }
            RecordChange::Delete(key) => self.set(key, None),
        }
    }

    /// Replaces the rebuilt records with this round's.
    pub fn replace_rebuilt(&mut self, records: Desired) {
        for key in std::mem::take(&mut self.rebuilt) {
            if !records.contains_key(&key) {
                self.set(key, None);
            }
        }
        for (key, value) in records {
            self.rebuilt.insert(key.clone());
            self.set(key, Some(value));
        }
    }

    /// The writes that bring a store holding the last written state up to date, puts
    /// before deletes; `None` if there is no such state.
    pub fn ops(&self) -> Option<Vec<WriteOp>> {
        if !self.tracking {
            return None;
        }
        let changed = self
            .before
            .iter()
            .filter(|(key, before)| self.records.get(*key) != before.as_ref());
        let (puts, deletes): (Vec<_>, Vec<_>) =
            changed.partition(|(key, _)| self.records.contains_key(*key));
        let puts = puts.into_iter().filter_map(|(key, _)| {
            Some(WriteOp::Put {
                key: key.clone(),
                value: self.records.get(key)?.clone(),
                lease: None,
            })
        });
        let deletes = deletes
            .into_iter()
            .map(|(key, _)| WriteOp::Delete { key: key.clone() });
        Some(puts.chain(deletes).collect())
    }

    /// The store now holds [`Self::all`].
    pub fn written(&mut self) {
        self.before.clear();
        self.tracking = true;
    }

    /// The store may hold anything: a write failed part-way.
    pub fn unknown(&mut self) {
        self.before.clear();
        self.tracking = false;
    }

    fn set(&mut self, key: String, value: Option<Bytes>) {
        let old = match &value {
            Some(value) => self.records.insert(key.clone(), value.clone()),
            None => self.records.remove(&key),
        };
        if self.tracking {
            self.before.entry(key).or_insert(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ops: &[WriteOp]) -> Vec<String> {
        ops.iter().map(ToString::to_string).collect()
    }

    fn ops(records: &DesiredRecords) -> Vec<WriteOp> {
        records.ops().expect("tracking since the last write")
    }

    fn desired(pairs: &[(&str, &str)]) -> Desired {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Bytes::from(v.to_string())))
            .collect()
    }

    #[test]
    fn writes_only_what_changed_since_the_last_write() {
        let mut records = DesiredRecords::default();
        records.replace_rebuilt(desired(&[("a", "1"), ("b", "1")]));
        assert_eq!(records.ops(), None, "nothing written yet: list and diff");
        records.written();

        records.replace_rebuilt(desired(&[("a", "1"), ("c", "1")]));
        assert_eq!(keys(&ops(&records)), ["put c", "delete b"]);
        records.written();
        assert!(ops(&records).is_empty());
        assert_eq!(records.all(), &desired(&[("a", "1"), ("c", "1")]));

        records.replace_rebuilt(desired(&[("a", "2")]));
        records.unknown();
        assert_eq!(records.ops(), None, "after a failed write: list and diff");
    }

    #[test]
    fn a_change_undone_before_the_write_writes_nothing() {
        let mut records = DesiredRecords::default();
        records.replace_rebuilt(desired(&[("a", "1")]));
        records.written();
        records.apply(RecordChange::Delete("a".into()));
        records.replace_rebuilt(desired(&[("a", "1")]));
        assert!(ops(&records).is_empty(), "{:?}", keys(&ops(&records)));
    }
}
