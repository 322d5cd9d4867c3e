//! `Admin`: what `ctl` calls. Connecting two clusters is four calls per direction (see
//! admin.proto); no private key crosses the wire.

use clustermesh_proto::{
    Cluster, pb,
    tls::{Role, authorize},
};
use tonic::{Request, Response, Status};

use super::{ApiContext, drill, errors, services, status};

pub struct AdminApi {
    ctx: ApiContext,
}

impl AdminApi {
    pub fn new(ctx: ApiContext) -> Self {
        Self { ctx }
    }
}

fn admin<T>(request: &Request<T>) -> Result<(), Status> {
    authorize(request, &[Role::Admin]).map(drop)
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminApi {
    async fn get_cluster_info(
        &self,
        request: Request<pb::GetClusterInfoRequest>,
    ) -> Result<Response<pb::GetClusterInfoResponse>, Status> {
        admin(&request)?;
        // Until then the pod CIDRs may still lack those taken from nodes, and `ctl
        // connect` would check overlaps against a partial answer.
        if !self.ctx.export.borrow().synced {
            return Err(Status::unavailable(format!(
                "cluster {} has not completed its first export yet; retry shortly",
                self.ctx.cluster
            )));
        }
        Ok(Response::new(pb::GetClusterInfoResponse {
            cluster: Some(self.ctx.own.borrow().clone().into()),
            ca_pem: self.ctx.ca_pem.as_bytes().to_vec(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }

    async fn create_peer_csr(
        &self,
        request: Request<pb::CreatePeerCsrRequest>,
    ) -> Result<Response<pb::CreatePeerCsrResponse>, Status> {
        admin(&request)?;
        let msg = request.into_inner();
        let csr = self
            .ctx
            .peers
            .create_csr(&msg.peer_cluster)
            .map_err(errors::peer)?;
        Ok(Response::new(pb::CreatePeerCsrResponse {
            csr_pem: csr.into_bytes(),
        }))
    }

    async fn sign_peer_csr(
        &self,
        request: Request<pb::SignPeerCsrRequest>,
    ) -> Result<Response<pb::SignPeerCsrResponse>, Status> {
        admin(&request)?;
        let msg = request.into_inner();
        let csr = utf8("csr_pem", msg.csr_pem)?;
        let cert = self
            .ctx
            .peers
            .sign_csr(&msg.peer_cluster, &csr)
            .map_err(errors::peer)?;
        Ok(Response::new(pb::SignPeerCsrResponse {
            cert_pem: cert.into_bytes(),
            ca_pem: self.ctx.ca_pem.as_bytes().to_vec(),
        }))
    }

    async fn install_peer(
        &self,
        request: Request<pb::InstallPeerRequest>,
    ) -> Result<Response<pb::InstallPeerResponse>, Status> {
        admin(&request)?;
        let msg = request.into_inner();
        let peer = msg
            .peer
            .ok_or_else(|| Status::invalid_argument("peer: missing"))
            .and_then(|p| Cluster::try_from(p).map_err(|e| errors::invalid("peer", e)))?;
        let ca = utf8("peer_ca_pem", msg.peer_ca_pem)?;
        let cert = utf8("client_cert_pem", msg.client_cert_pem)?;
        // Conflict checks need this cluster's pod CIDRs, which may come from its nodes.
        if !self.ctx.export.borrow().synced {
            return Err(Status::unavailable(
                "this cluster's first export has not completed yet; retry shortly",
            ));
        }
        self.ctx
            .peers
            .install(peer, ca, cert)
            .await
            .map_err(errors::peer)?;
        Ok(Response::new(pb::InstallPeerResponse {}))
    }

    async fn remove_peer(
        &self,
        request: Request<pb::RemovePeerRequest>,
    ) -> Result<Response<pb::RemovePeerResponse>, Status> {
        admin(&request)?;
        let msg = request.into_inner();
        self.ctx
            .peers
            .remove(&msg.peer_cluster)
            .await
            .map_err(errors::peer)?;
        self.ctx.metrics.forget_peer(&msg.peer_cluster);
        Ok(Response::new(pb::RemovePeerResponse {}))
    }

    async fn list_peers(
        &self,
        request: Request<pb::ListPeersRequest>,
    ) -> Result<Response<pb::ListPeersResponse>, Status> {
        admin(&request)?;
        let peers = self.ctx.peers.list().into_iter().map(Into::into).collect();
        Ok(Response::new(pb::ListPeersResponse { peers }))
    }

    async fn get_status(
        &self,
        request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::GetStatusResponse>, Status> {
        admin(&request)?;
        Ok(Response::new(status::get(&self.ctx).await?))
    }

    async fn list_global_services(
        &self,
        request: Request<pb::ListGlobalServicesRequest>,
    ) -> Result<Response<pb::ListGlobalServicesResponse>, Status> {
        admin(&request)?;
        let msg = request.into_inner();
        Ok(Response::new(
            services::list(&self.ctx, &msg.namespace).await?,
        ))
    }

    type RunProbesStream = drill::ReportStream;

    async fn run_probes(
        &self,
        request: Request<pb::RunProbesRequest>,
    ) -> Result<Response<Self::RunProbesStream>, Status> {
        admin(&request)?;
        drill::run_probes(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn inject_fault(
        &self,
        request: Request<pb::InjectFaultRequest>,
    ) -> Result<Response<pb::InjectFaultResponse>, Status> {
        admin(&request)?;
        drill::inject_fault(&self.ctx, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn clear_fault(
        &self,
        request: Request<pb::ClearFaultRequest>,
    ) -> Result<Response<pb::ClearFaultResponse>, Status> {
        admin(&request)?;
        drill::clear_fault(&self.ctx, request.into_inner()).map(Response::new)
    }
}

fn utf8(field: &str, bytes: Vec<u8>) -> Result<String, Status> {
    String::from_utf8(bytes).map_err(|_| errors::invalid(field, "not UTF-8 PEM text"))
}
