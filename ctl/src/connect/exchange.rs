//! One direction of `connect` (admin.proto): the importer makes a key pair and a CSR,
//! the exporter signs it with the peer role, the importer installs the signed
//! certificate and starts importing. No private key crosses the wire.

use clustermesh_proto::pb;
use tokio::time::Instant;

use crate::{
    client::{Admin, retry_unavailable},
    error::CtlError,
};

/// The time budget shared by every step of one `connect`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub started: Instant,
    pub deadline: Instant,
}

/// Makes `importer` (whose cluster is `importer_cluster`) import `exporter`, whose
/// cluster is `exporter_cluster` as its apiserver described it. Each step is retried
/// while the apiserver answers `Unavailable` (before its first export, InstallPeer
/// does); the CSR's key stays pending on the importer between retries.
pub async fn one_way(
    importer: &Admin,
    importer_cluster: &str,
    exporter: &Admin,
    exporter_cluster: &pb::Cluster,
    budget: Budget,
) -> Result<(), CtlError> {
    let what = |step: &str| {
        format!(
            "{step} ({} imports {})",
            importer.context(),
            exporter.context()
        )
    };
    let Budget { started, deadline } = budget;
    let csr = retry_unavailable(deadline, started, &what("CreatePeerCsr"), || {
        importer.create_peer_csr(&exporter_cluster.name)
    })
    .await?;
    let signed = retry_unavailable(deadline, started, &what("SignPeerCsr"), || {
        exporter.sign_peer_csr(importer_cluster, csr.clone())
    })
    .await?;
    retry_unavailable(deadline, started, &what("InstallPeer"), || {
        importer.install_peer(pb::InstallPeerRequest {
            peer: Some(exporter_cluster.clone()),
            peer_ca_pem: signed.ca_pem.clone(),
            client_cert_pem: signed.cert_pem.clone(),
        })
    })
    .await
}
