//! Faults in force in this cluster. Each has a TTL and lifts by itself, so a drill
//! whose driver crashed cannot leave the cluster broken.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The longest TTL a fault may ask for.
pub const MAX_FAULT_TTL: Duration = Duration::from_secs(600);

/// `namespace/name` of a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The service's backends are exported as not ready.
    Backends(ServiceRef),
    /// Peer export streams are ended and refused.
    Cluster,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultError {
    #[error("ttl_ms must be between 1 and {max} (got {0})", max = MAX_FAULT_TTL.as_millis())]
    Ttl(u64),
    #[error("no fault {0} is in force")]
    NotFound(u64),
}

/// The faults in force, by id, with their deadlines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSet {
    faults: BTreeMap<u64, (Fault, Instant)>,
}

impl FaultSet {
    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Whether the cluster is cut from the mesh.
    pub fn cluster_cut(&self) -> bool {
        self.faults.values().any(|(f, _)| *f == Fault::Cluster)
    }

    /// Whether `service`'s backends are withdrawn.
    pub fn withdraws(&self, service: &ServiceRef) -> bool {
        self.faults
            .values()
            .any(|(f, _)| matches!(f, Fault::Backends(s) if s == service))
    }

    fn next_expiry(&self) -> Option<Instant> {
        self.faults.values().map(|(_, at)| *at).min()
    }
}

/// Cheap to clone; every clone sees the same faults.
#[derive(Clone)]
pub struct Faults {
    set: Arc<watch::Sender<FaultSet>>,
    next_id: Arc<AtomicU64>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            set: Arc::new(watch::channel(FaultSet::default()).0),
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }
}

impl Faults {
    /// Puts `fault` in force for `ttl`; returns its id and deadline.
    pub fn inject(&self, fault: Fault, ttl: Duration) -> Result<(u64, Instant), FaultError> {
        if ttl.is_zero() || ttl > MAX_FAULT_TTL {
            return Err(FaultError::Ttl(ttl.as_millis() as u64));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + ttl;
        tracing::warn!(id, ?fault, ?ttl, "drill fault injected");
        self.set.send_modify(|set| {
            set.faults.insert(id, (fault, deadline));
        });
        Ok((id, deadline))
    }

    /// Lifts fault `id`, or every fault when `id` is 0; returns how many were lifted.
    pub fn clear(&self, id: u64) -> Result<usize, FaultError> {
        let mut cleared = 0;
        self.set.send_if_modified(|set| {
            let before = set.faults.len();
            if id == 0 {
                set.faults.clear();
            } else {
                set.faults.remove(&id);
            }
            cleared = before - set.faults.len();
            cleared > 0
        });
        if cleared == 0 && id != 0 {
            return Err(FaultError::NotFound(id));
        }
        if cleared > 0 {
            tracing::warn!(id, cleared, "drill fault cleared");
        }
        Ok(cleared)
    }

    pub fn current(&self) -> FaultSet {
        self.set.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<FaultSet> {
        self.set.subscribe()
    }

    /// Resolves once the cluster is (or becomes) cut, for ending streams.
    pub async fn cut(&self) {
        let mut rx = self.subscribe();
        // The sender lives in `self`, so the channel cannot close under us.
        let _ = rx.wait_for(FaultSet::cluster_cut).await;
    }

    /// Lifts faults as their TTLs run out, until `shutdown`.
    pub async fn expire(self, shutdown: CancellationToken) {
        let mut rx = self.subscribe();
        loop {
            let next = rx.borrow_and_update().next_expiry();
            let due = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = rx.changed() => {}
                () = due => {
                    let now = Instant::now();
                    self.set.send_if_modified(|set| {
                        let before = set.faults.len();
                        set.faults.retain(|id, (fault, at)| {
                            let keep = *at > now;
                            if !keep {
                                tracing::warn!(id, ?fault, "drill fault expired");
                            }
                            keep
                        });
                        set.faults.len() != before
                    });
                }
            }
        }
    }
}
