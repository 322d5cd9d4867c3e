//! `Mesh`: what this cluster's node agents call. An agent may register only the node
//! its certificate names.

use std::pin::Pin;

use clustermesh_proto::{
    DnsSubdomain, WireGuardPeerInfo, pb,
    tls::{PeerIdentity, Role, authorize},
};
use futures::Stream;
use tonic::{Request, Response, Status, Streaming};

use super::{ApiContext, drill, errors};
use crate::feed::{self, Resume, Scope};
use crate::layout;
use crate::store::{LeaseId, StoreError};

pub struct MeshApi {
    ctx: ApiContext,
}

impl MeshApi {
    pub fn new(ctx: ApiContext) -> Self {
        Self { ctx }
    }

    /// The agent's identity, if it may act for `node_name`.
    fn agent_for(
        &self,
        request_node: &str,
        identity: PeerIdentity,
    ) -> Result<DnsSubdomain, Status> {
        if identity.name != request_node {
            return Err(Status::permission_denied(format!(
                "certificate of node {:?} may not act for node {request_node:?}",
                identity.name
            )));
        }
        DnsSubdomain::new(request_node).map_err(|e| errors::invalid("node_name", e))
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::mesh_server::Mesh for MeshApi {
    async fn register_node(
        &self,
        request: Request<pb::RegisterNodeRequest>,
    ) -> Result<Response<pb::RegisterNodeResponse>, Status> {
        let identity = authorize(&request, &[Role::Agent])?;
        let msg = request.into_inner();
        let node = self.agent_for(&msg.node_name, identity)?;
        let wireguard = msg
            .wireguard
            .ok_or_else(|| Status::invalid_argument("wireguard: missing"))
            .and_then(|wg| {
                WireGuardPeerInfo::try_from(wg).map_err(|e| errors::invalid("wireguard", e))
            })?;

        let store = &self.ctx.store;
        let key = layout::registration_key(&self.ctx.cluster, node.as_str());
        let previous = store.get(&key).await.map_err(errors::store)?;
        let ttl = self.ctx.timings.node_lease_ttl;
        let lease = store.grant_lease(ttl).await.map_err(errors::store)?;
        store
            .put(&key, layout::encode_registration(&wireguard), Some(lease))
            .await
            .map_err(errors::store)?;
        // The old lease no longer holds anything; let it go rather than wait it out.
        if let Some(old) = previous.and_then(|kv| kv.lease).filter(|old| *old != lease) {
            let _ = store.revoke_lease(old).await;
        }
        self.ctx.record_heartbeat(node.as_str(), None);
        let cluster = self.ctx.own.borrow().clone();
        Ok(Response::new(pb::RegisterNodeResponse {
            lease_id: lease.0,
            ttl_ms: millis(ttl),
            heartbeat_interval_ms: millis(ttl / 3),
            cluster: Some(cluster.into()),
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let identity = authorize(&request, &[Role::Agent])?;
        let msg = request.into_inner();
        let node = self.agent_for(&msg.node_name, identity)?;
        let key = layout::registration_key(&self.ctx.cluster, node.as_str());
        let lost = || {
            Status::not_found(format!(
                "node {node} holds no live registration with lease {:x}; register again",
                msg.lease_id
            ))
        };
        let held = self.ctx.store.get(&key).await.map_err(errors::store)?;
        // Another node's lease must not be kept alive through this one's name.
        if held.and_then(|kv| kv.lease) != Some(LeaseId(msg.lease_id)) {
            return Err(lost());
        }
        match self.ctx.store.keep_alive(LeaseId(msg.lease_id)).await {
            Ok(()) => {
                self.ctx.record_heartbeat(node.as_str(), msg.tunnels);
                Ok(Response::new(pb::HeartbeatResponse {
                    ttl_ms: millis(self.ctx.timings.node_lease_ttl),
                }))
            }
            Err(StoreError::LeaseNotFound(_)) => Err(lost()),
            Err(e) => Err(errors::store(e)),
        }
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        authorize(&request, &[Role::Agent])?;
        let msg = request.into_inner();
        let resume = Resume {
            revision: msg.resume_revision,
            epoch: msg.resume_epoch,
        };
        let guard = self.ctx.metrics.watch_client_guard("mesh");
        let events = feed::start(
            self.ctx.store.clone(),
            self.ctx.epoch.clone(),
            Scope::Mesh,
            resume,
            None,
            self.ctx.shutdown.clone(),
        );
        Ok(Response::new(super::response_stream(
            events,
            guard,
            crate::feed::FeedEvent::into_mesh,
        )))
    }

    type ProbesStream = drill::AssignmentStream;

    async fn probes(
        &self,
        request: Request<Streaming<pb::ProbeReport>>,
    ) -> Result<Response<Self::ProbesStream>, Status> {
        let identity = authorize(&request, &[Role::Agent])?;
        let node = DnsSubdomain::new(identity.name.as_str())
            .map_err(|e| errors::invalid("agent certificate name", e))?;
        Ok(Response::new(drill::probes(
            &self.ctx,
            node.as_str(),
            request.into_inner(),
        )))
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
