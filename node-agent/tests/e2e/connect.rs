//! `ctl connect` through the Admin API only: each side's CSR signed by the other,
//! with the admin credentials `init` wrote into the ctl config.

use std::{path::Path, time::Duration};

use clustermesh_proto::{client_config::ClientConfig, pb};
use tonic::{Code, transport::Channel};

/// Connects `a` and `b` both ways (`ctl connect`), through the Admin API only.
pub async fn connect(ctl_config: &Path, a: &str, b: &str) {
    let config = ClientConfig::load(ctl_config).expect("ctl config written by init");
    let admin = |name: &str| {
        let endpoint = config
            .context(Some(name))
            .expect("context written by init")
            .endpoint()
            .expect("endpoint");
        async move {
            pb::admin_client::AdminClient::new(endpoint.connect().await.expect("admin connects"))
        }
    };
    let (admin_a, admin_b) = (admin(a).await, admin(b).await);
    retry_unavailable(|| one_way(admin_a.clone(), admin_b.clone()), "a imports b").await;
    retry_unavailable(|| one_way(admin_b.clone(), admin_a.clone()), "b imports a").await;
    // Both clusters' `demo/web` merged and reachable, seen from `a`.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let services = admin_a
            .clone()
            .list_global_services(pb::ListGlobalServicesRequest::default())
            .await
            .expect("list global services")
            .into_inner()
            .services;
        if services
            .first()
            .is_some_and(|s| s.clusters.len() == 2 && s.clusters.iter().all(|c| c.reachable))
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{a} does not see demo/web in both clusters: {services:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `InstallPeer` answers `Unavailable` until the first export completes.
async fn retry_unavailable<F, Fut>(mut attempt: F, what: &str)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), tonic::Status>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match attempt().await {
            Ok(()) => return,
            Err(s) if s.code() == Code::Unavailable && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(s) => panic!("{what}: {s}"),
        }
    }
}

/// Makes `importer` import `exporter`: importer's key, exporter's signature.
async fn one_way(
    mut importer: pb::admin_client::AdminClient<Channel>,
    mut exporter: pb::admin_client::AdminClient<Channel>,
) -> Result<(), tonic::Status> {
    let own = importer
        .get_cluster_info(pb::GetClusterInfoRequest {})
        .await?
        .into_inner();
    let other = exporter
        .get_cluster_info(pb::GetClusterInfoRequest {})
        .await?
        .into_inner();
    let own_name = own.cluster.expect("cluster info carries the cluster").name;
    let other_cluster = other.cluster.expect("cluster info carries the cluster");
    let csr = importer
        .create_peer_csr(pb::CreatePeerCsrRequest {
            peer_cluster: other_cluster.name.clone(),
        })
        .await?
        .into_inner()
        .csr_pem;
    let signed = exporter
        .sign_peer_csr(pb::SignPeerCsrRequest {
            peer_cluster: own_name,
            csr_pem: csr,
        })
        .await?
        .into_inner();
    importer
        .install_peer(pb::InstallPeerRequest {
            peer: Some(other_cluster),
            peer_ca_pem: signed.ca_pem,
            client_cert_pem: signed.cert_pem,
        })
        .await?;
    Ok(())
}

/// The tunnel report `node` of context `cluster` last sent, as its apiserver's status
/// shows it, once there is one with every expected peer up.
pub async fn node_tunnels(
    ctl_config: &Path,
    cluster: &str,
    node: &str,
    within: Duration,
) -> pb::TunnelReport {
    let config = ClientConfig::load(ctl_config).expect("ctl config written by init");
    let endpoint = config
        .context(Some(cluster))
        .expect("context written by init")
        .endpoint()
        .expect("endpoint");
    let mut admin = pb::admin_client::AdminClient::new(endpoint.connect().await.expect("admin"));
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let status = admin
            .get_status(pb::GetStatusRequest {})
            .await
            .expect("status")
            .into_inner();
        let report = status
            .nodes
            .iter()
            .find(|n| n.name == node)
            .and_then(|n| n.tunnels);
        match report {
            Some(r) if r.expected > 0 && r.up == r.expected => return r,
            _ if tokio::time::Instant::now() >= deadline => {
                panic!(
                    "{cluster}/{node}: no complete tunnel report: {:?}",
                    status.nodes
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
