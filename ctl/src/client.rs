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
}

impl Admin {
    /// Connects eagerly, so an unreachable apiserver or an untrusted server certificate
    /// is reported here rather than at some later call.
    pub async fn connect(context: &Context, timeouts: Timeouts) -> Result<Self, CtlError> {
        let endpoint = context
            .endpoint()?
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request);
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

    /// The answer, or the failure in the operator's terms. A connection dropped for no
    /// stated reason is probed once: it is usually our certificate being rejected.
    async fn ask<T>(
        &self,
        call: &'static str,
        answer: Result<tonic::Response<T>, tonic::Status>,
    ) -> Result<T, CtlError> {
        let status = match answer {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) => status,
        };
        let mut cause = Cause::of_status(&status);
        if let Cause::Transport(_) = cause
            && let Some(rejected) = probe::certificate_rejection(&self.context, PROBE_TIMEOUT).await
        {
            cause = rejected;
        }
        Err(CtlError::Api {
            context: self.name.clone(),
            address: self.address.clone(),
            call,
            cause,
        })
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
        let answer = self.client.clone().get_cluster_info(request).await;
        self.ask("GetClusterInfo", answer).await
    }

    pub async fn create_peer_csr(&self, peer: &str) -> Result<Vec<u8>, CtlError> {
        let request = pb::CreatePeerCsrRequest {
            peer_cluster: peer.to_owned(),
        };
        let answer = self.client.clone().create_peer_csr(request).await;
        Ok(self.ask("CreatePeerCsr", answer).await?.csr_pem)
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
        let answer = self.client.clone().sign_peer_csr(request).await;
        self.ask("SignPeerCsr", answer).await
    }

    pub async fn install_peer(&self, request: pb::InstallPeerRequest) -> Result<(), CtlError> {
        let answer = self.client.clone().install_peer(request).await;
        self.ask("InstallPeer", answer).await.map(drop)
    }

    pub async fn remove_peer(&self, peer: &str) -> Result<(), CtlError> {
        let request = pb::RemovePeerRequest {
            peer_cluster: peer.to_owned(),
        };
        let answer = self.client.clone().remove_peer(request).await;
        self.ask("RemovePeer", answer).await.map(drop)
    }

    pub async fn list_peers(&self) -> Result<Vec<pb::Cluster>, CtlError> {
        let answer = self
            .client
            .clone()
            .list_peers(pb::ListPeersRequest {})
            .await;
        Ok(self.ask("ListPeers", answer).await?.peers)
    }

    pub async fn status(&self) -> Result<pb::GetStatusResponse, CtlError> {
        let answer = self
            .client
            .clone()
            .get_status(pb::GetStatusRequest {})
            .await;
        self.ask("GetStatus", answer).await
    }

    pub async fn global_services(
        &self,
        namespace: &str,
    ) -> Result<Vec<pb::GlobalServiceView>, CtlError> {
        let request = pb::ListGlobalServicesRequest {
            namespace: namespace.to_owned(),
        };
        let answer = self.client.clone().list_global_services(request).await;
        Ok(self.ask("ListGlobalServices", answer).await?.services)
    }
}

#[cfg(test)]
mod tests;
