//! The raft gRPC service one replica serves to the others.

use std::sync::Arc;

use clustermesh_proto::pb;
use clustermesh_proto::pb::raft_replication_server::RaftReplication;
use clustermesh_proto::tls::{Role, authorize};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use super::codec::{decode, encode};
use super::forward::ForwardRequest;
use super::replica::Replica;

pub(crate) struct RaftService {
    pub(crate) replica: Arc<Replica>,
}

/// Only the cluster's own apiserver replicas may speak raft: the TLS layer trusts only
/// this cluster's CA, and the role must be `server`.
fn payload<T: DeserializeOwned>(req: Request<pb::RaftPayload>) -> Result<T, Status> {
    authorize(&req, &[Role::Server])?;
    decode(&req.into_inner().data)
        .map_err(|e| Status::invalid_argument(format!("raft payload: {e}")))
}

fn reply<T: Serialize>(value: &T) -> Result<Response<pb::RaftPayload>, Status> {
    encode(value)
        .map(|data| Response::new(pb::RaftPayload { data }))
        .map_err(Status::internal)
}

#[tonic::async_trait]
impl RaftReplication for RaftService {
    async fn append_entries(
        &self,
        req: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        let rpc = payload(req)?;
        reply(&self.replica.raft.append_entries(rpc).await)
    }

    async fn vote(
        &self,
        req: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        let rpc = payload(req)?;
        reply(&self.replica.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        req: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        let rpc = payload(req)?;
        reply(&self.replica.raft.install_snapshot(rpc).await)
    }

    async fn forward(
        &self,
        req: Request<pb::RaftPayload>,
    ) -> Result<Response<pb::RaftPayload>, Status> {
        let req: ForwardRequest = payload(req)?;
        reply(&self.replica.execute_as_leader(&req).await)
    }
}
