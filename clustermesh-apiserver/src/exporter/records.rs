//! The records rebuilt every round (the cluster, nodes and global services), kept
//! across rounds with which keys changed since the store last held them, so a round
//! writes what changed without comparing every record. Endpoints and identities are
//! the [`EndpointIndex`](crate::export::EndpointIndex)'s, which reports its own changes.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::Desired;
use crate::store::WriteOp;

#[derive(Default)]
pub(super) struct RebuiltRecords {
    records: Desired,
    /// Each key changed since [`Self::written`], with its value before the first change.
    before: BTreeMap<String, Option<Bytes>>,
}

impl RebuiltRecords {
    pub fn all(&self) -> &Desired {
        &self.records
    }

    /// Replaces the records with this round's.
    pub fn replace(&mut self, records: Desired) {
        let gone: Vec<String> = (self.records.keys())
            .filter(|key| !records.contains_key(*key))
            .cloned()
            .collect();
        for key in gone {
            self.set(key, None);
        }
        for (key, value) in records {
            self.set(key, Some(value));
        }
    }

    /// The writes that bring a store holding the last written records up to date.
    pub fn ops(&self) -> Vec<WriteOp> {
        (self.before.iter())
            .filter(|(key, before)| self.records.get(*key) != before.as_ref())
            .map(|(key, _)| match self.records.get(key) {
                Some(value) => WriteOp::Put {
                    key: key.clone(),
                    value: value.clone(),
                    lease: None,
                },
                None => WriteOp::Delete { key: key.clone() },
            })
            .collect()
    }

    /// The store now holds [`Self::all`].
    pub fn written(&mut self) {
        self.before.clear();
    }

    fn set(&mut self, key: String, value: Option<Bytes>) {
        let old = match &value {
            Some(value) => self.records.insert(key.clone(), value.clone()),
            None => self.records.remove(&key),
        };
        self.before.entry(key).or_insert(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(ops: &[WriteOp]) -> Vec<String> {
        ops.iter().map(ToString::to_string).collect()
    }

    fn ops(records: &RebuiltRecords) -> Vec<WriteOp> {
        records.ops()
    }

    fn desired(pairs: &[(&str, &str)]) -> Desired {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Bytes::from(v.to_string())))
            .collect()
    }

    #[test]
    fn writes_only_what_changed_since_the_last_write() {
        let mut records = RebuiltRecords::default();
        records.replace(desired(&[("a", "1"), ("b", "1")]));
        assert_eq!(keys(&ops(&records)), ["put a", "put b"]);
        records.written();

        records.replace(desired(&[("a", "1"), ("c", "1")]));
        assert_eq!(keys(&ops(&records)), ["delete b", "put c"]);
        records.written();
        assert!(ops(&records).is_empty());
        assert_eq!(records.all(), &desired(&[("a", "1"), ("c", "1")]));
    }

    #[test]
    fn a_change_undone_before_the_write_writes_nothing() {
        let mut records = RebuiltRecords::default();
        records.replace(desired(&[("a", "1")]));
        records.written();
        records.replace(desired(&[]));
        records.replace(desired(&[("a", "1")]));
        assert!(ops(&records).is_empty(), "{:?}", keys(&ops(&records)));
    }
}
