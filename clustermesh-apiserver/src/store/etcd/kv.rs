//! Single-key writes, batches and compare-and-swap, each one etcd request.

use std::collections::HashSet;

use bytes::Bytes;
use etcd_client::{
    Compare, CompareOp, DeleteOptions, PutOptions, ResponseHeader, Txn, TxnOp, TxnOpResponse,
};

use super::EtcdStore;
use super::error::{Failure, call, classify, with_deadline};
use crate::store::checks::check_batch_size;
use crate::store::{
    Cas, CasAction, CasOutcome, DeleteOutcome, KeyValue, LeaseId, Result, Revision, StoreError,
    WriteOp,
};

/// The revision an etcd response was served at.
pub(super) fn header_revision(header: Option<&ResponseHeader>) -> Result<Revision> {
    header
        .map(ResponseHeader::revision)
        .ok_or_else(|| StoreError::Backend("etcd response without a header".into()))
}

fn put_options(lease: Option<LeaseId>) -> Option<PutOptions> {
    lease.map(|id| PutOptions::new().with_lease(id.0))
}

impl EtcdStore {
    pub(super) async fn get_key(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = self.keys.key(key)?;
        let mut kv = self.kv.clone();
        let resp = call(self.config.request_timeout, kv.get(key, None)).await?;
        Ok(resp.kvs().first().and_then(|kv| self.keys.key_value(kv)))
    }

    pub(super) async fn put_key(
        &self,
        key: &str,
        value: Bytes,
        lease: Option<LeaseId>,
    ) -> Result<Revision> {
        let key = self.keys.key(key)?;
        let mut kv = self.kv.clone();
        let request = kv.put(key, Vec::from(value), put_options(lease));
        let resp = with_deadline(self.config.request_timeout, request)
            .await
            .map_err(|err| classify(&err).into_store_error(lease.map(|l| l.0)))?;
        header_revision(resp.header())
    }

    pub(super) async fn delete_key(&self, key: &str) -> Result<DeleteOutcome> {
        let key = self.keys.key(key)?;
        self.delete_range(key, None).await
    }

    pub(super) async fn delete_keys_with_prefix(&self, prefix: &str) -> Result<DeleteOutcome> {
        let (start, end) = self.keys.prefix_range(prefix);
        self.delete_range(start, Some(end)).await
    }

    /// One DeleteRange: all matching keys go at one revision. When nothing matched,
    /// etcd does not advance the revision and its header names the current one, which
    /// is exactly `DeleteOutcome`'s contract.
    async fn delete_range(&self, start: Vec<u8>, end: Option<Vec<u8>>) -> Result<DeleteOutcome> {
        let options = end.map(|end| DeleteOptions::new().with_range(end));
        let mut kv = self.kv.clone();
        let resp = call(self.config.request_timeout, kv.delete(start, options)).await?;
        Ok(DeleteOutcome {
            deleted: u64::try_from(resp.deleted()).unwrap_or(0),
            revision: header_revision(resp.header())?,
        })
    }

    /// One etcd Txn without conditions, so it applies whole at one revision. Like
    /// memory, a batch that changes nothing (only deletes of absent keys, or no ops)
    /// leaves the revision alone: etcd only advances it when a txn changed a key, and
    /// its header then names the current revision.
    ///
    /// Difference from memory: the batch is checked here for size, empty and
    /// duplicate keys before the server checks leases, so a batch with both an unknown
    /// lease and a bad key reports the bad key, whatever the order of its ops.
    pub(super) async fn apply_batch(&self, ops: Vec<WriteOp>) -> Result<Revision> {
        check_batch_size(ops.len(), self.config.max_batch_ops)?;
        let mut seen = HashSet::with_capacity(ops.len());
        let mut leases = Vec::new();
        let mut txn_ops = Vec::with_capacity(ops.len());
        for op in ops {
            let (key, txn_op) = match op {
                WriteOp::Put { key, value, lease } => {
                    let full = self.keys.key(&key)?;
                    if let Some(id) = lease
                        && !leases.contains(&id)
                    {
                        leases.push(id);
                    }
                    (key, TxnOp::put(full, Vec::from(value), put_options(lease)))
                }
                WriteOp::Delete { key } => {
                    let full = self.keys.key(&key)?;
                    (key, TxnOp::delete(full, None))
                }
            };
            if !seen.insert(key.clone()) {
                return Err(StoreError::InvalidArgument(format!(
                    "key {key:?} appears twice in one batch"
                )));
            }
            txn_ops.push(txn_op);
        }
        let mut kv = self.kv.clone();
        let request = kv.txn(Txn::new().and_then(txn_ops));
        match with_deadline(self.config.request_timeout, request).await {
            Ok(resp) => header_revision(resp.header()),
            Err(err) => match classify(&err) {
                Failure::LeaseNotFound => Err(self.missing_lease(&leases).await),
                failure => Err(failure.into_store_error(None)),
            },
        }
    }

    pub(super) async fn cas(&self, cas: Cas) -> Result<CasOutcome> {
        let key = self.keys.key(&cas.key)?;
        let compares = match cas.expected_mod_revision {
            // Absent keys compare as all-zero in etcd: version 0 means "does not exist".
            None => vec![Compare::version(key.clone(), CompareOp::Equal, 0)],
            // "version > 0" keeps `Some(0)` from matching an absent key, which memory
            // (rightly) treats as a conflict.
            Some(rev) => vec![
                Compare::mod_revision(key.clone(), CompareOp::Equal, rev),
                Compare::version(key.clone(), CompareOp::Greater, 0),
            ],
        };
        let (action, lease) = match cas.action {
            CasAction::Put { value, lease } => (
                TxnOp::put(key.clone(), Vec::from(value), put_options(lease)),
                lease,
            ),
            CasAction::Delete => (TxnOp::delete(key.clone(), None), None),
        };
        // The else branch reads the key in the same txn, so `Conflict` reports the value
        // that made the comparison fail, not a later one.
        let txn = Txn::new()
            .when(compares)
            .and_then(vec![action])
            .or_else(vec![TxnOp::get(key, None)]);
        let mut kv = self.kv.clone();
        let resp = with_deadline(self.config.request_timeout, kv.txn(txn))
            .await
            .map_err(|err| classify(&err).into_store_error(lease.map(|l| l.0)))?;
        if resp.succeeded() {
            return Ok(CasOutcome::Swapped {
                revision: header_revision(resp.header())?,
            });
        }
        let current = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Get(get) => {
                Some(get.kvs().first().and_then(|kv| self.keys.key_value(kv)))
            }
            _ => None,
        });
        match current {
            Some(current) => Ok(CasOutcome::Conflict { current }),
            None => Err(StoreError::Backend(
                "etcd answered a failed compare-and-swap without the key's state".into(),
            )),
        }
    }

    /// Names the lease a failed batch referred to. etcd says only "requested lease not
    /// found", so on this (rare) path each lease of the batch is looked up.
    async fn missing_lease(&self, leases: &[LeaseId]) -> StoreError {
        for id in leases {
            let mut lease = self.lease.clone();
            let request = lease.time_to_live(id.0, None);
            match with_deadline(self.config.request_timeout, request).await {
                // etcd answers TTL -1 for a lease it does not know.
                Ok(resp) if resp.ttl() < 0 => return StoreError::LeaseNotFound(id.0),
                Ok(_) => {}
                Err(err) => return classify(&err).into_store_error(Some(id.0)),
            }
        }
        // A lease that expired between the batch and the lookup.
        match leases.first() {
            Some(id) => StoreError::LeaseNotFound(id.0),
            None => StoreError::Backend(
                "etcd reported an unknown lease for a batch without leases".into(),
            ),
        }
    }
}
