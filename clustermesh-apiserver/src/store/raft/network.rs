//! Raft RPCs to the other replicas over tonic. Messages travel MessagePack-encoded inside
//! `RaftPayload`, so the wire format follows openraft's types without a schema to keep.

use std::time::Duration;

use clustermesh_proto::pb;
use clustermesh_proto::pb::raft_replication_client::RaftReplicationClient;
use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::codec::{decode, encode};
use super::type_config::{NodeId, TypeConfig};

#[derive(Clone, Copy)]
pub(crate) enum Method {
    AppendEntries,
    Vote,
    InstallSnapshot,
    Forward,
}

/// A lazily connected mTLS client to one replica; reconnects on its own after failures.
#[derive(Clone)]
pub(crate) struct PeerClient {
    target: NodeId,
    /// Why there is no client, when the address or TLS settings are unusable.
    client: Result<RaftReplicationClient<Channel>, String>,
    addr: String,
}

impl PeerClient {
    pub(crate) fn new(
        target: NodeId,
        addr: &str,
        tls: &ClientTlsConfig,
        max_message_bytes: usize,
    ) -> Self {
        let client = Endpoint::from_shared(format!("https://{addr}"))
            .and_then(|e| e.tls_config(tls.clone()))
            .map(|e| {
                let channel = e
                    .connect_timeout(Duration::from_secs(1))
                    .tcp_nodelay(true)
                    .connect_lazy();
                RaftReplicationClient::new(channel)
                    .max_decoding_message_size(max_message_bytes)
                    .max_encoding_message_size(max_message_bytes)
            })
            .map_err(|e| format!("raft peer {target} at {addr:?}: {e}"));
        PeerClient {
            target,
            client,
            addr: addr.to_owned(),
        }
    }

    /// Sends one request; the outer error is the transport's, the inner the peer's answer.
    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        let client = self.client.clone().map_err(CallError::Unreachable)?;
        let data = encode(req).map_err(CallError::Codec)?;
        let mut request = tonic::Request::new(pb::RaftPayload { data });
        request.set_timeout(timeout);
        let mut client = client;
        let sent = tokio::time::timeout(timeout, async move {
            match method {
                Method::AppendEntries => client.append_entries(request).await,
                Method::Vote => client.vote(request).await,
                Method::InstallSnapshot => client.install_snapshot(request).await,
                Method::Forward => client.forward(request).await,
            }
        })
        .await;
        match sent {
            Err(_) => Err(CallError::Timeout(timeout)),
            Ok(Err(status)) if never_sent(&status) => {
                Err(CallError::Unreachable(status.to_string()))
            }
            Ok(Err(status)) => Err(CallError::Failed(status.to_string())),
            Ok(Ok(resp)) => decode(&resp.into_inner().data).map_err(CallError::Codec),
        }
    }

    pub(crate) fn addr(&self) -> String {
        self.addr.clone()
    }

    pub(crate) async fn forward<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        req: &Req,
        timeout: Duration,
    ) -> Result<Resp, CallError> {
        self.call(Method::Forward, req, timeout).await
    }

    async fn raft_call<Req: Serialize, Resp: DeserializeOwned, E>(
        &self,
        method: Method,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        E: std::error::Error + DeserializeOwned,
    {
        let answer: Result<Resp, RaftError<NodeId, E>> = self
            .call(method, req, option.hard_ttl())
            .await
            .map_err(|e| e.into_rpc_error())?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

/// Whether a failed call certainly never reached the peer, so retrying cannot repeat it.
fn never_sent(status: &tonic::Status) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable
            )
        {
            return true;
        }
        if err.to_string().contains("tcp connect error") {
            return true;
        }
        source = err.source();
    }
    false
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// Never reached the peer: safe to retry anything.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// May or may not have been executed.
    #[error("failed: {0}")]
    Failed(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Codec(String),
}

impl CallError {
    fn into_rpc_error<E: std::error::Error>(
        self,
    ) -> RPCError<NodeId, BasicNode, RaftError<NodeId, E>> {
        match self {
            CallError::Unreachable(_) => RPCError::Unreachable(Unreachable::new(&self)),
            other => RPCError::Network(NetworkError::new(&other)),
        }
    }
}

pub(crate) struct Network {
    pub(crate) tls: ClientTlsConfig,
    pub(crate) max_message_bytes: usize,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        PeerClient::new(target, &node.addr, &self.tls, self.max_message_bytes)
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.raft_call(Method::AppendEntries, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.raft_call(Method::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.raft_call(Method::Vote, &rpc, &option).await
    }
}
