//! Leases and compaction.

use std::time::Duration;

use etcd_client::CompactionOptions;

use super::EtcdStore;
use super::error::{Failure, call, classify, with_deadline};
use crate::store::checks::lease_ttl_ms;
use crate::store::{LeaseId, Result, Revision, StoreError};

/// etcd counts lease TTLs in whole seconds: round up, so a lease never lives shorter
/// than asked. etcd also raises TTLs below its minimum (1.5 × the election timeout,
/// 2 s with default flags) to that minimum, so short leases live longer than on the
/// memory backend; expiry is also only checked every 500 ms by etcd's lessor.
pub(super) fn ttl_seconds(ttl: Duration) -> Result<i64> {
    let ms = lease_ttl_ms(ttl)?;
    i64::try_from(ms.div_ceil(1000))
        .map_err(|_| StoreError::InvalidArgument(format!("lease TTL {ttl:?} is too long")))
}

impl EtcdStore {
    pub(super) async fn grant(&self, ttl: Duration) -> Result<LeaseId> {
        let seconds = ttl_seconds(ttl)?;
        let mut lease = self.lease.clone();
        let resp = call(self.config.request_timeout, lease.grant(seconds, None)).await?;
        if !resp.error().is_empty() {
            return Err(StoreError::Backend(format!(
                "etcd refused the lease: {}",
                resp.error()
            )));
        }
        Ok(LeaseId(resp.id()))
    }

    /// One keep-alive round trip on a fresh stream. etcd answers an expired or revoked
    /// lease with TTL 0, which the client reports as "lease not found".
    pub(super) async fn refresh(&self, id: LeaseId) -> Result<()> {
        let mut lease = self.lease.clone();
        let request = async move {
            // `keep_alive` sends one request and awaits its reply; dropping the keeper and
            // the reply stream then ends the keep-alive stream.
            let (_keeper, _replies) = lease.keep_alive(id.0).await?;
            Ok(())
        };
        with_deadline(self.config.request_timeout, request)
            .await
            .map_err(|err| classify(&err).into_store_error(Some(id.0)))
    }

    pub(super) async fn revoke(&self, id: LeaseId) -> Result<()> {
        let mut lease = self.lease.clone();
        with_deadline(self.config.request_timeout, lease.revoke(id.0))
            .await
            .map(|_| ())
            .map_err(|err| classify(&err).into_store_error(Some(id.0)))
    }

    /// Logical compaction (etcd's default, not `physical`): it takes effect for reads
    /// and watches at once, and etcd frees the space in the background.
    pub(super) async fn compact_to(&self, revision: Revision) -> Result<()> {
        // Nothing is older than revision 1; memory treats this as a no-op too.
        if revision <= 0 {
            return Ok(());
        }
        let mut kv = self.kv.clone();
        let request = kv.compact(revision, None::<CompactionOptions>);
        match with_deadline(self.config.request_timeout, request).await {
            Ok(_) => Ok(()),
            Err(err) => match classify(&err) {
                // Already compacted at or past `revision`: idempotent, like memory.
                Failure::Compacted => Ok(()),
                Failure::FutureRevision(msg) => Err(StoreError::InvalidArgument(format!(
                    "cannot compact at revision {revision}: {msg}"
                ))),
                failure => Err(failure.into_store_error(None)),
            },
        }
    }
}
