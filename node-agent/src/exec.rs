//! The executors: what turns planned [`Change`]s into kernel and device state, each
//! behind a small trait so the agent loop can be tested with a recording fake.
//!
//! Every executor also reads back what is programmed (`observe`), which is what the
//! planner diffs against: the agent reconciles by diff after a restart and never
//! flushes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use clustermesh_proto::{Cidr, WireGuardKey};

use crate::plan::{PeerSpec, ServiceBackends, ServiceFrontend};

/// An executor's failure, with what it was doing.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ExecError {
    pub what: String,
    pub reason: String,
}

impl ExecError {
    pub fn new(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// WireGuard peers of the mesh interface.
#[async_trait]
pub trait Tunnels: Send + Sync {
    async fn observe(&self) -> Result<BTreeMap<WireGuardKey, PeerSpec>, ExecError>;
    async fn set_peer(&self, key: &WireGuardKey, peer: &PeerSpec) -> Result<(), ExecError>;
    async fn remove_peer(&self, key: &WireGuardKey) -> Result<(), ExecError>;
    /// Time since each peer's latest handshake (`None`: never), for status and metrics.
    async fn handshake_ages(&self) -> Result<BTreeMap<WireGuardKey, Option<Duration>>, ExecError>;
}

/// Routes to remote pod CIDRs via the mesh interface; only routes the agent owns.
#[async_trait]
pub trait Routes: Send + Sync {
    async fn observe(&self) -> Result<BTreeSet<Cidr>, ExecError>;
    async fn add(&self, cidr: &Cidr) -> Result<(), ExecError>;
    async fn remove(&self, cidr: &Cidr) -> Result<(), ExecError>;
}

/// Global-service load balancing. `apply` takes every change of one plan and makes
/// them one atomic update, so no service is ever without its rule.
#[async_trait]
pub trait Services: Send + Sync {
    /// What is programmed. An executor may answer from its model of what it last read
    /// or wrote, rather than read the dataplane on every call.
    async fn observe(&self) -> Result<BTreeMap<ServiceFrontend, ServiceBackends>, ExecError>;
    async fn apply(&self, update: &ServiceUpdate) -> Result<(), ExecError>;
    /// Drops any such model, so the next call reads the dataplane and repairs what
    /// someone else changed. The reconciler calls it on every resync.
    async fn refresh(&self) {}
}

/// Per frontend, the backends it lost in one plan.
pub type LostBackends = BTreeMap<ServiceFrontend, Vec<SocketAddr>>;

/// The connection-tracking entries the load balancer's DNAT leaves behind.
#[async_trait]
pub trait Flows: Send + Sync {
    /// Forgets the flows each frontend sent to a backend it lost that the backend never
    /// answered (and every UDP one), so their next packet is balanced afresh instead of
    /// following the old translation. One call per plan: a cluster lost with 10,000
    /// services is one pass over the table, not 10,000. Returns how many were forgotten.
    async fn forget(&self, lost: &LostBackends) -> Result<usize, ExecError>;
}

/// The service part of one plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceUpdate {
    pub set: BTreeMap<ServiceFrontend, ServiceBackends>,
    pub remove: BTreeSet<ServiceFrontend>,
}
