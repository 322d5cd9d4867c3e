//! What this cluster's agents registered (WireGuard key, port, endpoint), read from
//! their leased keys, and a watch that says when it changed.

use std::collections::BTreeMap;

use clustermesh_proto::{ClusterName, WireGuardPeerInfo};
use futures::StreamExt;

use crate::layout;
use crate::store::{Revision, Store, StoreError, WatchStream};

pub(super) async fn list(
    store: &dyn Store,
    cluster: &ClusterName,
) -> Result<(BTreeMap<String, WireGuardPeerInfo>, Revision), StoreError> {
    let prefix = layout::registrations_prefix(cluster);
    let list = store.list(&prefix).await?;
    let mut out = BTreeMap::new();
    for kv in list.items {
        let node = kv.key[prefix.len()..].to_owned();
        // Written only by RegisterNode after validation; a bad value means a bug or
        // tampering, and the node is exported without tunnel details.
        match layout::decode_registration(&kv.key, &kv.value) {
            Ok(info) => {
                out.insert(node, info);
            }
            Err(error) => tracing::warn!(%error, "ignoring a node registration"),
        }
    }
    Ok((out, list.revision))
}

/// A watch on the registrations that is reopened after any error; it only wakes the
/// exporter, which then lists the registrations afresh.
pub(super) struct RegistrationWatch {
    prefix: String,
    stream: Option<WatchStream>,
}

impl RegistrationWatch {
    pub fn new(cluster: &ClusterName) -> Self {
        Self {
            prefix: layout::registrations_prefix(cluster),
            stream: None,
        }
    }

    /// Opens the watch after `revision` if it is not open.
    pub async fn ensure_open(
        &mut self,
        store: &dyn Store,
        revision: Revision,
    ) -> Result<(), StoreError> {
        if self.stream.is_none() {
            self.stream = Some(store.watch(&self.prefix, revision).await?);
        }
        Ok(())
    }

    /// Resolves when registrations may have changed (or the watch failed, which is
    /// treated the same: the next round relists).
    pub async fn changed(&mut self) {
        match self.stream.as_mut() {
            Some(stream) => {
                if !matches!(stream.next().await, Some(Ok(_))) {
                    self.stream = None;
                }
            }
            None => std::future::pending().await,
        }
    }
}
