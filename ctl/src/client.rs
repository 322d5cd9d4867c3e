//! One context's apiserver, reached as an admin over mTLS. Every failure is turned into
//! a [`CtlError::Api`] naming the context, the address, the call and the cause.

pub mod probe;
mod retry;

use std::time::Duration;

use clustermesh_proto::{client_config::Context, pb};
use tonic::transport::Channel;

pub use self::retry::retry_unavailable;
use crate::error::{Cause, CtlError};

/// Bounds on one apiserver conversation, so an unreachable one fails fast.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

/// Bounds the certificate probe of [`Admin::ask`], connection included.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(15),
        }
    }
}

/// An admin connection to the apiserver of one context.
#[derive(Clone)]
pub struct Admin {
    context: Context,
    name: String,
    address: String,
    client: pb::admin_client::AdminClient<Channel>,
    /// Set when the channel carries no request timeout, so that a response stream can
    /// outlive one (a drill's probe run); each call is then bounded by this instead.
    call_timeout: Option<Duration>,
}

impl Admin {
    /// Connects eagerly, so an unreachable apiserver or an untrusted server certificate
    /// is reported here rather than at some later call.
    pub async fn connect(context: &Context, timeouts: Timeouts) -> Result<Self, CtlError> {
        Self::open(context, timeouts, false).await
    }

    /// [`Admin::connect`] for response streams that outlive the request timeout: the
    /// timeout bounds each call until its answer (or the stream's start) instead.
    pub async fn connect_for_streams(
        context: &Context,
        timeouts: Timeouts,
    ) -> Result<Self, CtlError> {
        Self::open(context, timeouts, true).await
    }

    async fn open(context: &Context, timeouts: Timeouts, streams: bool) -> Result<Self, CtlError> {
        let mut endpoint = context.endpoint()?.connect_timeout(timeouts.connect);
        if !streams {
            endpoint = endpoint.timeout(timeouts.request);
        }
        let name = context.name.to_string();
        let address = context.server.to_string();
        let channel = endpoint.connect().await.map_err(|e| CtlError::Api {
            context: name.clone(),
            address: address.clone(),
            call: "connect",
            cause: Cause::of_transport(&e),
        })?;
        Ok(Self {
            context: context.clone(),
            name,
            address,
            client: pb::admin_client::AdminClient::new(channel),
            call_timeout: streams.then_some(timeouts.request),
        })
    }

    /// The context's name.
    pub fn context(&self) -> &str {
        &self.name
    }

    /// The apiserver address the context names.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The answer, or the failure in the operator's terms.
    async fn call<T>(
        &self,
        call: &'static str,
        answer: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, CtlError> {
        let answer = match self.call_timeout {
            None => answer.await,
            Some(limit) => tokio::time::timeout(limit, answer)
                .await
                .map_err(|_| self.failure(call, Cause::TimedOut))?,
        };
        match answer {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => Err(self.error(call, &status).await),
        }
    }

    /// `status` in the operator's terms. A connection dropped for no stated reason is
    /// probed once: it is usually our certificate being rejected.
    pub async fn error(&self, call: &'static str, status: &tonic::Status) -> CtlError {
        let mut cause = Cause::of_status(status);
        if let Cause::Transport(_) = cause
            && let Some(rejected) = probe::certificate_rejection(&self.context, PROBE_TIMEOUT).await
        {
            cause = rejected;
        }
        self.failure(call, cause)
    }

    fn failure(&self, call: &'static str, cause: Cause) -> CtlError {
        CtlError::Api {
            context: self.name.clone(),
            address: self.address.clone(),
            call,
            cause,
        }
    }

    pub fn bad_answer(&self, call: &'static str, reason: impl ToString) -> CtlError {
        CtlError::BadAnswer {
            context: self.name.clone(),
            address: self.address.clone(),
            call,
            reason: reason.to_string(),
        }
    }

    pub async fn cluster_info(&self) -> Result<pb::GetClusterInfoResponse, CtlError> {
        let request = pb::GetClusterInfoRequest {};
        let mut client = self.client.clone();
        self.call("GetClusterInfo", client.get_cluster_info(request))
            .await
    }

    pub async fn create_peer_csr(&self, peer: &str) -> Result<Vec<u8>, CtlError> {
        let request = pb::CreatePeerCsrRequest {
            peer_cluster: peer.to_owned(),
        };
        let mut client = self.client.clone();
        Ok(self
            .call("CreatePeerCsr", client.create_peer_csr(request))
            .await?
            .csr_pem)
    }

    pub async fn sign_peer_csr(
        &self,
        peer: &str,
        csr_pem: Vec<u8>,
    ) -> Result<pb::SignPeerCsrResponse, CtlError> {
        let request = pb::SignPeerCsrRequest {
            peer_cluster: peer.to_owned(),
            csr_pem,
        };
        let mut client = self.client.clone();
        self.call("SignPeerCsr", client.sign_peer_csr(request))
            .await
    }

    pub async fn install_peer(&self, request: pb::InstallPeerRequest) -> Result<(), CtlError> {
        let mut client = self.client.clone();
        self.call("InstallPeer", client.install_peer(request))
            .await
            .map(drop)
    }

    pub async fn remove_peer(&self, peer: &str) -> Result<(), CtlError> {
        let request = pb::RemovePeerRequest {
            peer_cluster: peer.to_owned(),
        };
        let mut client = self.client.clone();
        self.call("RemovePeer", client.remove_peer(request))
            .await
            .map(drop)
    }

    pub async fn list_peers(&self) -> Result<Vec<pb::Cluster>, CtlError> {
        let mut client = self.client.clone();
        Ok(self
            .call("ListPeers", client.list_peers(pb::ListPeersRequest {}))
            .await?
            .peers)
    }

    pub async fn status(&self) -> Result<pb::GetStatusResponse, CtlError> {
        let mut client = self.client.clone();
        self.call("GetStatus", client.get_status(pb::GetStatusRequest {}))
            .await
    }

    pub async fn global_services(
        &self,
        namespace: &str,
    ) -> Result<Vec<pb::GlobalServiceView>, CtlError> {
        let request = pb::ListGlobalServicesRequest {
            namespace: namespace.to_owned(),
        };
        let mut client = self.client.clone();
        Ok(self
            .call("ListGlobalServices", client.list_global_services(request))
            .await?
            .services)
    }

    /// A probe run's reports; dropping the stream stops the run at the agent. Use a
    /// connection from [`Admin::connect_for_streams`].
    pub async fn run_probes(
        &self,
        request: pb::RunProbesRequest,
    ) -> Result<tonic::Streaming<pb::ProbeReport>, CtlError> {
        let mut client = self.client.clone();
        self.call("RunProbes", client.run_probes(request)).await
    }

    pub async fn inject_fault(
        &self,
        request: pb::InjectFaultRequest,
    ) -> Result<pb::InjectFaultResponse, CtlError> {
        let mut client = self.client.clone();
        self.call("InjectFault", client.inject_fault(request)).await
    }

    /// How many faults were cleared; `fault_id` 0 clears every fault.
    pub async fn clear_fault(&self, fault_id: u64) -> Result<u32, CtlError> {
        let mut client = self.client.clone();
        let request = pb::ClearFaultRequest { fault_id };
        Ok(self
            .call("ClearFault", client.clear_fault(request))
            .await?
            .cleared)
    }
}

#[cfg(test)]
mod tests;
