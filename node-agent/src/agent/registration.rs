//! Registering the node and keeping its lease alive. A lost lease (NOT_FOUND) means
//! register again; other failures are retried with capped backoff. The apiserver says
//! how often to heartbeat.

use std::time::Duration;

use clustermesh_proto::pb;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};

use crate::observability::{Condition, Health};

const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

pub(super) struct Registration {
    pub client: Channel,
    pub node: String,
    pub wireguard: pb::WireGuard,
    /// The reconciler's latest tunnel report, sent with every heartbeat.
    pub tunnels: watch::Receiver<Option<pb::TunnelReport>>,
    pub health: Health,
}

impl Registration {
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut client = pb::mesh_client::MeshClient::new(self.client.clone());
        let mut retry = RETRY_MIN;
        loop {
            let request = pb::RegisterNodeRequest {
                node_name: self.node.clone(),
                wireguard: Some(self.wireguard.clone()),
            };
            let registered = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                r = client.register_node(request) => r,
            };
            let lease = match registered {
                Ok(response) => response.into_inner(),
                Err(status) if is_final(&status) => {
                    anyhow::bail!(
                        "the apiserver refused the registration: {}",
                        status.message()
                    )
                }
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "registration failed; retrying");
                    if sleep(&shutdown, &mut retry).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            retry = RETRY_MIN;
            self.health.set(Condition::Registered, true);
            tracing::info!(
                lease = lease.lease_id,
                ttl_ms = lease.ttl_ms,
                "node registered"
            );
            let interval = Duration::from_millis(lease.heartbeat_interval_ms.max(100));
            let stopped = self
                .heartbeat(&mut client, lease.lease_id, interval, &shutdown)
                .await;
            self.health.set(Condition::Registered, false);
            if stopped {
                return Ok(());
            }
        }
    }

    /// Heartbeats until the lease is lost (false) or shutdown (true).
    async fn heartbeat(
        &self,
        client: &mut pb::mesh_client::MeshClient<Channel>,
        lease_id: i64,
        interval: Duration,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return true,
                _ = tick.tick() => {}
            }
            let request = pb::HeartbeatRequest {
                node_name: self.node.clone(),
                lease_id,
                tunnels: *self.tunnels.borrow(),
            };
            match client.heartbeat(request).await {
                Ok(_) => {}
                Err(status) if status.code() == Code::NotFound => {
                    tracing::warn!("node lease lost; registering again");
                    return false;
                }
                // Transient: the lease outlives a few missed beats.
                Err(status) => {
                    tracing::warn!(code = ?status.code(), message = status.message(), "heartbeat failed")
                }
            }
        }
    }
}

fn is_final(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::PermissionDenied | Code::InvalidArgument | Code::Unauthenticated
    )
}

/// Sleeps the retry delay, doubling it; true when shutdown came first.
async fn sleep(shutdown: &CancellationToken, retry: &mut Duration) -> bool {
    let wait = *retry;
    *retry = (*retry * 2).min(RETRY_MAX);
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(wait) => false,
    }
}
