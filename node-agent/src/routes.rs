//! The routes executor: each remote cluster's pod CIDRs routed via the WireGuard
//! interface, programmed through netlink (`rtnetlink`), never by running `ip`.
//!
//! Ownership is the routing protocol number: every route the agent adds carries
//! [`ROUTE_PROTOCOL`] (`ip route` shows it as `proto 149`). [`NetlinkRoutes`] observes,
//! removes and cleans up only routes with that protocol, so the CNI's, the
//! administrator's and other agents' routes are never touched, even for the same prefix.

mod connection;
mod message;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use async_trait::async_trait;
use clustermesh_proto::Cidr;
use futures::TryStreamExt;
use rtnetlink::{Handle, packet_route::AddressFamily};

use crate::exec::{ExecError, Routes};
use connection::ConnectionTask;
use message::{EEXIST, ENODEV, ESRCH, MAIN_TABLE, Seen, errno, reason};

/// The routing protocol that marks the agent's routes. Not in iproute2's `rt_protos`
/// (0-18, 42, 99, 186-192) and away from the numbers other network agents are known to
/// use, so a route with it is ours and nobody else's. Changing it orphans the routes of
/// earlier versions: keep it.
pub const ROUTE_PROTOCOL: u8 = 149;

/// Routes via one interface, over a netlink connection owned by this value: dropping it
/// stops the connection's task.
pub struct NetlinkRoutes {
    interface: String,
    handle: Handle,
    _connection: ConnectionTask,
}

impl std::fmt::Debug for NetlinkRoutes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetlinkRoutes")
            .field("interface", &self.interface)
            .finish_non_exhaustive()
    }
}

impl NetlinkRoutes {
    /// Opens the netlink connection; must be called inside a tokio runtime. The
    /// interface is looked up on every call rather than here, because a restarted
    /// userspace WireGuard device comes back with a new index.
    pub fn new(interface: impl Into<String>) -> Result<Self, ExecError> {
        let interface = interface.into();
        let (handle, connection) = connection::open(&interface)?;
        Ok(Self {
            interface,
            handle,
            _connection: connection,
        })
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Removes every route with [`ROUTE_PROTOCOL`], on any interface and in any table,
    /// and returns how many: `node-agent cleanup` must work even when the interface is
    /// already gone or was renamed.
    pub async fn cleanup(&self) -> Result<usize, ExecError> {
        let mut removed = 0;
        for seen in self.dump().await?.into_iter().filter(Seen::is_ours) {
            let what = || format!("removing route {} (cleanup)", seen.cidr);
            if self
                .delete(&seen.cidr, seen.oif, seen.table)
                .await
                .map_err(|e| ExecError::new(what(), reason(&e)))?
            {
                removed += 1;
            }
        }
        tracing::info!(interface = %self.interface, removed, "removed the agent's routes");
        Ok(removed)
    }

    /// The interface's index; a missing interface is an error naming it.
    async fn link_index(&self) -> Result<u32, ExecError> {
        let what = || format!("looking up interface {}", self.interface);
        let found = self
            .handle
            .link()
            .get()
            .match_name(self.interface.clone())
            .execute()
            .try_next()
            .await;
        match found {
            Ok(Some(link)) => Ok(link.header.index),
            Ok(None) => Err(ExecError::new(what(), "no such interface")),
            Err(e) if errno(&e) == Some(ENODEV) => Err(ExecError::new(what(), "no such interface")),
            Err(e) => Err(ExecError::new(what(), reason(&e))),
        }
    }

    /// Every IPv4 and IPv6 route the kernel has, whoever owns it.
    async fn dump(&self) -> Result<Vec<Seen>, ExecError> {
        let mut seen = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let routes: Vec<_> = self
                .handle
                .route()
                .get(message::dump_request(family))
                .execute()
                .try_collect()
                .await
                .map_err(|e| ExecError::new("listing routes", reason(&e)))?;
            seen.extend(routes.iter().filter_map(Seen::from_message));
        }
        Ok(seen)
    }

    /// Deletes our route to `cidr`; `Ok(false)` when there was none.
    async fn delete(
        &self,
        cidr: &Cidr,
        oif: Option<u32>,
        table: u32,
    ) -> Result<bool, rtnetlink::Error> {
        let request = self
            .handle
            .route()
            .del(message::build_delete(cidr, oif, table));
        match request.execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(ESRCH) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// After `EEXIST`: fine when the route is already ours via our interface; moved
    /// when it is ours via another one; refused when someone else owns that prefix at
    /// that metric, because replacing it would take their route away.
    async fn settle_existing(&self, cidr: &Cidr, index: u32) -> Result<(), ExecError> {
        let what = || format!("adding route {cidr} via {}", self.interface);
        let same: Vec<Seen> = self
            .dump()
            .await?
            .into_iter()
            .filter(|s| s.cidr == *cidr && s.table == MAIN_TABLE)
            .collect();
        if same.iter().any(|s| s.is_ours() && s.oif == Some(index)) {
            return Ok(());
        }
        if let Some(stale) = same.iter().find(|s| s.is_ours()) {
            tracing::info!(%cidr, interface = %self.interface, "moving our route to the interface");
            self.delete(cidr, stale.oif, MAIN_TABLE)
                .await
                .map_err(|e| ExecError::new(what(), reason(&e)))?;
            let add = self
                .handle
                .route()
                .add(message::build(cidr, Some(index), MAIN_TABLE));
            return add
                .execute()
                .await
                .map_err(|e| ExecError::new(what(), reason(&e)));
        }
        let owner = same.first().map_or_else(
            || "unknown".to_owned(),
            |s| format!("protocol {}", s.protocol),
        );
        Err(ExecError::new(
            what(),
            format!(
                "a route to {cidr} owned by someone else ({owner}) is in the way; not replacing it"
            ),
        ))
    }
}

#[async_trait]
impl Routes for NetlinkRoutes {
    async fn observe(&self) -> Result<BTreeSet<Cidr>, ExecError> {
        let index = self.link_index().await?;
        Ok(self
            .dump()
            .await?
            .into_iter()
            .filter(|s| s.is_ours() && s.oif == Some(index) && s.table == MAIN_TABLE)
            .map(|s| s.cidr)
            .collect())
    }

    async fn add(&self, cidr: &Cidr) -> Result<(), ExecError> {
        let index = self.link_index().await?;
        let request = self
            .handle
            .route()
            .add(message::build(cidr, Some(index), MAIN_TABLE));
        match request.execute().await {
            Ok(()) => {
                tracing::debug!(%cidr, interface = %self.interface, "added route");
                Ok(())
            }
            Err(e) if errno(&e) == Some(EEXIST) => self.settle_existing(cidr, index).await,
            Err(e) => Err(ExecError::new(
                format!("adding route {cidr} via {}", self.interface),
                reason(&e),
            )),
        }
    }

    async fn remove(&self, cidr: &Cidr) -> Result<(), ExecError> {
        let index = self.link_index().await?;
        let removed = self
            .delete(cidr, Some(index), MAIN_TABLE)
            .await
            .map_err(|e| {
                ExecError::new(
                    format!("removing route {cidr} via {}", self.interface),
                    reason(&e),
                )
            })?;
        tracing::debug!(%cidr, interface = %self.interface, removed, "removed route");
        Ok(())
    }
}
