//! Global-service load balancing with nftables: [`NftServices`] implements
//! [`Services`] by running the `nft` binary (package `nftables`).
//!
//! Everything lives in one table of its own, `inet clustermesh` by default. `inet`
//! holds both address families in one table, so IPv4 and IPv6 frontends are both
//! supported (a VIP DNATs only to backends of its own family; mixing is refused with an
//! [`ExecError`]). Nothing outside the table is ever read or written.
//!
//! Services live in map and set elements; the chains are bounded by the largest backend
//! count, not by the number of services (`names.rs` says why). One service with two
//! backends and one without any, IPv4 only (`*_output` chains are the same as their
//! `prerouting` twins, hook `output`):
//!
//! ```text
//! table inet clustermesh {
//!   map services4 { type ipv4_addr . inet_proto . inet_service : verdict
//!     elements = { 10.96.0.10 . tcp . 80 comment "shop/web" : goto spread4_2 } }
//!   map slot4_0 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
//!     elements = { 10.96.0.10 . tcp . 80 : 10.250.0.2 . 8080 } }
//!   map slot4_1 { (the same) elements = { 10.96.0.10 . tcp . 80 : 10.250.0.3 . 8080 } }
//!   set counted4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; counter
//!     elements = { 10.96.0.10 . 80 . 10.250.0.2 . 8080 counter packets 2 bytes 120 comment "a/node-1", ... } }
//!   set empty4 { type ipv4_addr . inet_proto . inet_service
//!     elements = { 10.96.0.12 . udp . 53 comment "shop/empty" } }
//!   chain nat_prerouting { type nat hook prerouting priority -110; policy accept;
//!     ip daddr . meta l4proto . th dport vmap @services4 }
//!   chain spread4_2 { numgen random mod 2 vmap { 0 : goto dnat4_0, 1 : goto dnat4_1 } }
//!   chain dnat4_0 { dnat ip to ip daddr . meta l4proto . th dport map @slot4_0 }
//!   chain dnat4_1 { dnat ip to ip daddr . meta l4proto . th dport map @slot4_1 }
//!   chain filter_prerouting { type filter hook prerouting priority -110; policy accept;
//!     meta l4proto tcp ip daddr . meta l4proto . th dport @empty4 reject with tcp reset
//!     ip daddr . meta l4proto . th dport @empty4 reject }
//!   chain count_prerouting { type filter hook prerouting priority -99; policy accept;
//!     meta l4proto tcp ct state new ct status ! confirmed ct original ip daddr .
//!       ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
//!     (and udp, sctp) }
//! }
//! ```
//!
//! - Three lookups per new connection (frontend, slot, backend), whatever the number of
//!   services; only a connection's first packet reaches a `nat` chain, so the backend
//!   is chosen per connection.
//! - `prerouting` catches traffic forwarded from pods, `output` the node's own. Both
//!   hook at -110, before kube-proxy's DNAT at `dstnat` (-100), so the two coexist.
//! - The counted sets count each new connection once, on its backend's element, keyed
//!   by the connection's original destination and its reply source (the backend), so
//!   the count needs no chain per backend. [`NftServices::counters`] reads them. An
//!   unchanged backend keeps its element, and so its counter, across updates. The
//!   protocol is not in the key: a TCP and a UDP frontend on one VIP and port that share
//!   a backend share its count.
//! - The slot maps are typed with `type`, not `typeof`: nft 1.0.6 cannot add a rule
//!   against an existing `typeof` map whose data holds `th dport` ("conflicting
//!   protocols"), and a numgen key has no named type, so a numgen result cannot be part
//!   of a typed key; hence a map per slot.
//! - No backend: the frontend sits in `empty4`/`empty6` instead, and `filter` chains answer
//!   TCP with a reset, UDP and SCTP with ICMP port unreachable. Not from a `nat` chain:
//!   those run only while conntrack is on in the namespace, which our `dnat` rules may be
//!   the only thing keeping on, so a reject there becomes a black hole once the last
//!   backend of the node is gone (seen in the tests).
//! - Each [`Services::apply`] is one `nft -f -` file, which the kernel commits all or
//!   nothing. The executor keeps a model of the table (`render.rs`) and lists it again
//!   only after a failed transaction or a [`Services::refresh`]. Nothing is flushed on
//!   start or exit; [`NftServices::cleanup`] deletes the table, for `node-agent cleanup`.

mod model;
mod names;
mod parse;
mod render;
mod run;

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use async_trait::async_trait;
use tokio::sync::Mutex;

pub use self::{model::Counter, names::DEFAULT_TABLE};
use self::{
    model::Listed,
    render::Base,
    run::{Failure, Nft},
};
use crate::{
    exec::{ExecError, ServiceUpdate, Services},
    plan::{ServiceBackends, ServiceFrontend},
};

/// The nftables load balancer of one node.
#[derive(Debug)]
pub struct NftServices {
    nft: Nft,
    table: String,
    /// The WireGuard port whose underlay packets skip conntrack.
    untracked_udp_port: Option<u16>,
    /// The table as we know it; its lock also serializes read-then-write, since a
    /// transaction is rendered against what it replaces.
    state: Mutex<State>,
}

/// What the executor knows of its table between calls.
#[derive(Debug)]
struct State {
    /// The table as of the last listing or our last committed transaction. `None`
    /// until first read, after a failed transaction, and after `refresh`: then the
    /// table is listed again.
    model: Option<Listed>,
    /// `Write` while the model comes from a listing, whose base-chain rules are not
    /// checked one by one.
    base: Base,
}

impl Default for NftServices {
    fn default() -> Self {
        Self {
            nft: Nft {
                binary: PathBuf::from("nft"),
            },
            table: DEFAULT_TABLE.to_owned(),
            untracked_udp_port: None,
            state: Mutex::new(State {
                model: None,
                base: Base::Write,
            }),
        }
    }
}

impl NftServices {
    /// Table `inet clustermesh`, with `nft` from `PATH`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Another table name: a letter, then letters, digits or `_`, at most 64 characters.
    pub fn with_table(mut self, table: &str) -> Result<Self, ExecError> {
        if !names::is_identifier(table) {
            return Err(ExecError::new(
                "nft table name",
                format!("{table:?} is not a letter followed by letters, digits or `_`"),
            ));
        }
        self.table = table.to_owned();
        Ok(self)
    }

    /// Exempts this node's WireGuard UDP on `port` (to a local address, or sent from
    /// the port) from conntrack. Tracking it buys nothing, since no rule of ours
    /// translates the underlay, and costs throughput. A host firewall that accepts only
    /// `ct state established` must then accept this port explicitly.
    pub fn with_untracked_tunnel_port(mut self, port: u16) -> Self {
        self.untracked_udp_port = Some(port);
        self
    }

    /// Runs this `nft` binary instead of the one on `PATH`.
    pub fn with_binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.nft.binary = binary.into();
        self
    }

    /// The table this executor owns.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Checks that `nft` runs and may read the ruleset, for config validation at start.
    pub async fn preflight(&self) -> Result<(), ExecError> {
        self.nft.run(&["list", "tables"], None).await?;
        Ok(())
    }

    /// Packets and bytes sent to each backend of each service, since its chain was made.
    pub async fn counters(
        &self,
    ) -> Result<BTreeMap<(ServiceFrontend, SocketAddr), Counter>, ExecError> {
        Ok(self.listed().await?.counters())
    }

    /// New connections sent to each cluster's backends of the service at `target`
    /// (`vip:port`) since their chains were made: the nat chains see only a
    /// connection's first packet, so packets count connections.
    pub async fn connections_per_cluster(
        &self,
        target: SocketAddr,
    ) -> Result<BTreeMap<String, u64>, ExecError> {
        Ok(self.listed().await?.connections_per_cluster(target))
    }

    /// Deletes the table and everything in it; absent already is fine.
    pub async fn cleanup(&self) -> Result<(), ExecError> {
        let mut state = self.state.lock().await;
        state.model = None;
        match self
            .nft
            .run(&["delete", "table", "inet", &self.table], None)
            .await
        {
            Ok(_) | Err(Failure::NotFound) => Ok(()),
            Err(Failure::Exec(e)) => Err(e),
        }
    }

    /// The table as it is now; empty when it does not exist yet.
    async fn listed(&self) -> Result<Listed, ExecError> {
        match self
            .nft
            .run(&["-j", "list", "table", "inet", &self.table], None)
            .await
        {
            Ok(json) => parse::listed(&json),
            Err(Failure::NotFound) => Ok(Listed::default()),
            Err(Failure::Exec(e)) => Err(e),
        }
    }
}

/// The model, listing the table if there is none.
async fn known<'a>(
    services: &NftServices,
    state: &'a mut State,
) -> Result<&'a mut Listed, ExecError> {
    if state.model.is_none() {
        state.model = Some(services.listed().await?);
        state.base = Base::Write;
    }
    state
        .model
        .as_mut()
        .ok_or_else(|| ExecError::new("nft", "the table's model vanished"))
}

#[async_trait]
impl Services for NftServices {
    async fn observe(&self) -> Result<BTreeMap<ServiceFrontend, ServiceBackends>, ExecError> {
        let mut state = self.state.lock().await;
        known(self, &mut state).await?.observe()
    }

    async fn apply(&self, update: &ServiceUpdate) -> Result<(), ExecError> {
        let mut state = self.state.lock().await;
        known(self, &mut state).await?;
        // Taken out: if anything below fails, the table is listed again next time.
        let mut model = state.model.take().unwrap_or_default();
        let transaction = render::transaction(
            render::Table {
                name: &self.table,
                untracked_udp_port: self.untracked_udp_port,
            },
            &mut model,
            update,
            state.base,
        )?;
        self.nft.run(&["-f", "-"], Some(&transaction)).await?;
        state.model = Some(model);
        state.base = Base::Keep;
        tracing::debug!(
            table = %self.table,
            set = update.set.len(),
            removed = update.remove.len(),
            "applied nft transaction"
        );
        Ok(())
    }

    async fn refresh(&self) {
        self.state.lock().await.model = None;
    }
}

#[cfg(test)]
mod netns_tests;
#[cfg(test)]
mod tests;
