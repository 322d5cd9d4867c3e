//! The store's key space inside etcd: an optional namespace prefix, key ranges for
//! prefixes, and conversion of etcd's key-values into ours.

use bytes::Bytes;

use crate::store::{KeyValue, LeaseId, Result, StoreError};

/// Maps store keys to etcd keys under `namespace` and back.
#[derive(Debug, Clone)]
pub(super) struct Keyspace {
    namespace: Vec<u8>,
}

impl Keyspace {
    pub(super) fn new(namespace: &str) -> Self {
        Keyspace {
            namespace: namespace.as_bytes().to_vec(),
        }
    }

    /// The etcd key of a store key. Empty keys are refused here, before sending: etcd
    /// would refuse them too, but with a namespace the etcd key is not empty.
    pub(super) fn key(&self, key: &str) -> Result<Vec<u8>> {
        if key.is_empty() {
            return Err(StoreError::InvalidArgument("key must not be empty".into()));
        }
        Ok(self.join(key))
    }

    fn join(&self, key: &str) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.namespace.len() + key.len());
        full.extend_from_slice(&self.namespace);
        full.extend_from_slice(key.as_bytes());
        full
    }

    /// The etcd range `[start, end)` holding every store key that starts with `prefix`
    /// (all of the namespace when `prefix` is empty).
    pub(super) fn prefix_range(&self, prefix: &str) -> (Vec<u8>, Vec<u8>) {
        let start = self.join(prefix);
        match range_end(&start) {
            Some(end) => (start, end),
            // The whole key space, in etcd's spelling: from "\0" to "\0" (= no end).
            None => (vec![0], vec![0]),
        }
    }

    /// The store key of an etcd key, or `None` for a key outside the namespace or not
    /// UTF-8 (nothing this store wrote).
    pub(super) fn store_key(&self, key: &[u8]) -> Option<String> {
        let rest = key.strip_prefix(self.namespace.as_slice())?;
        String::from_utf8(rest.to_vec()).ok()
    }

    /// Converts an etcd key-value; `None` (with a warning) for a foreign key.
    pub(super) fn key_value(&self, kv: &etcd_client::KeyValue) -> Option<KeyValue> {
        let Some(key) = self.store_key(kv.key()) else {
            tracing::warn!(key = ?String::from_utf8_lossy(kv.key()), "skipping a key this store did not write");
            return None;
        };
        Some(KeyValue {
            key,
            value: Bytes::copy_from_slice(kv.value()),
            create_revision: kv.create_revision(),
            mod_revision: kv.mod_revision(),
            lease: lease_of(kv.lease()),
        })
    }
}

/// etcd's "no lease" is lease id 0.
pub(super) fn lease_of(id: i64) -> Option<LeaseId> {
    (id != 0).then_some(LeaseId(id))
}

/// The smallest key greater than every key starting with `prefix`, or `None` when no
/// such key exists (empty prefix, or all 0xff bytes): then the range has no end.
pub(super) fn range_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|b| *b < 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}

/// The first key strictly after `key`: the next page of a paginated range starts here.
pub(super) fn key_after(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}
