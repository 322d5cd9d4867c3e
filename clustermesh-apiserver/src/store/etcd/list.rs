//! `list`: a prefix read in pages, all at one pinned revision, so the result is one
//! consistent snapshot however many keys it holds, and no response outgrows the gRPC
//! message limit.

use etcd_client::GetOptions;

use super::EtcdStore;
use super::error::{Failure, classify, with_deadline};
use super::keys::key_after;
use super::kv::header_revision;
use crate::store::{ListResult, Result, Revision, StoreError};

/// Aim for pages of about this many bytes: half the client's 4 MiB receive limit, so a
/// page somewhat heavier than the previous one still fits.
const PAGE_TARGET_BYTES: usize = 2 * 1024 * 1024;

/// Per-key overhead of a `KeyValue` on the wire (revisions, version, lease, tags).
const KV_OVERHEAD_BYTES: usize = 32;

/// How often a list restarts when the revision it pinned is compacted under it.
const COMPACTED_RESTARTS: u32 = 3;

enum PageError {
    /// The pinned revision was compacted mid-list: start again at a newer one.
    Compacted(Revision),
    Store(StoreError),
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        PageError::Store(err)
    }
}

impl EtcdStore {
    pub(super) async fn list_prefix(&self, prefix: &str) -> Result<ListResult> {
        let mut restarts = 0;
        loop {
            match self.list_pinned(prefix).await {
                Ok(result) => return Ok(result),
                Err(PageError::Store(err)) => return Err(err),
                Err(PageError::Compacted(revision)) if restarts < COMPACTED_RESTARTS => {
                    restarts += 1;
                    tracing::debug!(revision, restarts, "list revision compacted; restarting");
                }
                Err(PageError::Compacted(revision)) => {
                    return Err(StoreError::unavailable(format!(
                        "list kept losing its read revision to compaction (last {revision})"
                    )));
                }
            }
        }
    }

    async fn list_pinned(&self, prefix: &str) -> Result<ListResult, PageError> {
        let (mut from, end) = self.keys.prefix_range(prefix);
        let mut revision: Option<Revision> = None;
        let mut limit = self.config.list_page_keys;
        let mut items = Vec::new();
        loop {
            let mut options = GetOptions::new()
                .with_range(end.clone())
                .with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
            if let Some(rev) = revision {
                options = options.with_revision(rev);
            }
            let mut kv = self.kv.clone();
            let request = kv.get(from.clone(), Some(options));
            let resp = match with_deadline(self.config.request_timeout, request).await {
                Ok(resp) => resp,
                Err(err) => match classify(&err) {
                    Failure::Compacted => return Err(PageError::Compacted(revision.unwrap_or(0))),
                    Failure::ResponseTooLarge(msg) => {
                        limit = self.shrink_page(limit, &msg, &from, &end, revision).await?;
                        continue;
                    }
                    failure => return Err(failure.into_store_error(None).into()),
                },
            };
            // The first page pins the revision; later pages read at it.
            let pinned = match revision {
                Some(rev) => rev,
                None => *revision.insert(header_revision(resp.header())?),
            };
            let kvs = resp.kvs();
            let bytes: usize = kvs
                .iter()
                .map(|kv| kv.key().len() + kv.value().len() + KV_OVERHEAD_BYTES)
                .sum();
            items.extend(kvs.iter().filter_map(|kv| self.keys.key_value(kv)));
            let Some(last) = kvs.last().filter(|_| resp.more()) else {
                return Ok(ListResult {
                    items,
                    revision: pinned,
                });
            };
            from = key_after(last.key());
            limit = next_page_keys(bytes, kvs.len(), self.config.list_page_keys);
        }
    }

    /// A smaller page after the client refused a response as too large. The refusal
    /// names the response's size; a cheap count of the keys it held gives their mean
    /// size, so one retry usually fits (halving is the fallback).
    async fn shrink_page(
        &self,
        limit: usize,
        message: &str,
        from: &[u8],
        end: &[u8],
        revision: Option<Revision>,
    ) -> Result<usize, PageError> {
        if limit <= 1 {
            return Err(StoreError::Backend(format!(
                "a single key-value exceeds the gRPC message limit: {message}"
            ))
            .into());
        }
        let halved = limit / 2;
        let Some(found) = refused_bytes(message) else {
            return Ok(halved);
        };
        let mut options = GetOptions::new().with_range(end.to_vec()).with_count_only();
        if let Some(rev) = revision {
            options = options.with_revision(rev);
        }
        let mut kv = self.kv.clone();
        let request = kv.get(from.to_vec(), Some(options));
        let count = match with_deadline(self.config.request_timeout, request).await {
            Ok(resp) => usize::try_from(resp.count()).unwrap_or(limit).min(limit),
            Err(err) => match classify(&err) {
                Failure::Compacted => return Err(PageError::Compacted(revision.unwrap_or(0))),
                failure => return Err(failure.into_store_error(None).into()),
            },
        };
        let fitting = PAGE_TARGET_BYTES.saturating_mul(count.max(1)) / found.max(1);
        let shrunk = fitting.clamp(1, halved);
        tracing::debug!(limit, shrunk, found, "list page too large; shrinking");
        Ok(shrunk)
    }
}

/// Keys for the next page, sized from the mean of the last one, never above `max`.
pub(super) fn next_page_keys(bytes: usize, keys: usize, max: usize) -> usize {
    let mean = (bytes / keys.max(1)).max(1);
    (PAGE_TARGET_BYTES / mean).clamp(1, max.max(1))
}

/// The size tonic reports in "decoded message length too large: found N bytes, …".
pub(super) fn refused_bytes(message: &str) -> Option<usize> {
    let rest = message.split("found ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}
