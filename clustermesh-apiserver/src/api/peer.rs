//! `PeerExport`: what connected clusters' importers call. Read-only, this cluster's own
//! exports only, with a heartbeat so a lost cluster is noticed on an idle stream.

use std::pin::Pin;

use clustermesh_proto::{
    pb,
    tls::{Role, authorize},
};
use futures::{Stream, StreamExt as _};
use tonic::{Request, Response, Status};

use super::{ApiContext, errors};
use crate::feed::{self, Resume, Scope};

pub struct PeerExportApi {
    ctx: ApiContext,
}

impl PeerExportApi {
    pub fn new(ctx: ApiContext) -> Self {
        Self { ctx }
    }
}

type PeerStream = Pin<Box<dyn Stream<Item = Result<pb::PeerWatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::peer_export_server::PeerExport for PeerExportApi {
    type WatchStream = PeerStream;

    async fn watch(
        &self,
        request: Request<pb::PeerWatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let identity = authorize(&request, &[Role::Peer])?;
        let peer = clustermesh_proto::ClusterName::new(identity.name.as_str())
            .map_err(|e| errors::invalid("peer certificate name", e))?;
        // A certificate stays valid after `ctl disconnect`; admission does not, and its
        // revocation ends streams already open.
        let Some(admission) = self.ctx.peers.admission(&peer) else {
            return Err(Status::permission_denied(format!(
                "cluster {peer} is not connected to {}",
                self.ctx.cluster
            )));
        };
        // A drill's cluster fault: peers see this cluster gone, as in a real outage.
        if self.ctx.faults.current().cluster_cut() {
            return Err(Status::unavailable(format!(
                "cluster {} is cut from the mesh by a failover drill",
                self.ctx.cluster
            )));
        }
        let msg = request.into_inner();
        let heartbeat = clustermesh_proto::peer_heartbeat_granted(msg.heartbeat_interval_ms);
        let resume = Resume {
            revision: msg.resume_revision,
            epoch: msg.resume_epoch,
        };
        let guard = self.ctx.metrics.watch_client_guard("peer");
        let events = feed::start(
            self.ctx.store.clone(),
            self.ctx.epoch.clone(),
            Scope::Exports(self.ctx.cluster.clone()),
            resume,
            Some(heartbeat),
            admission,
        );
        let stream = super::response_stream(events, guard, crate::feed::FeedEvent::into_peer);
        let faults = self.ctx.faults.clone();
        Ok(Response::new(Box::pin(
            stream.take_until(async move { faults.cut().await }),
        )))
    }
}
