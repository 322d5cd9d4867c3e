//! In-process clusters for the API tests: a real apiserver per cluster (memory store,
//! manifest source, tonic over mTLS on 127.0.0.1:0), and clients with any role.
#![allow(dead_code)] // Each test binary uses a different part.

pub mod manifests;

use std::{path::Path, sync::Arc, time::Duration};

use clustermesh_apiserver::{
    api::ApiTimings,
    import::ImportTimings,
    server::{Apiserver, ApiserverParams},
    source::{ManifestSource, SourceState},
    store::{
        Store,
        memory::{MemoryStore, MemoryStoreConfig},
    },
};
use clustermesh_proto::{
    Cluster, ClusterName, Record, pb,
    tls::{self, ClusterCa, IssuedCert, Role},
};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const VALIDITY: Duration = Duration::from_secs(24 * 60 * 60);

pub fn name(s: &str) -> ClusterName {
    ClusterName::new(s).expect("valid cluster name")
}

/// One cluster: its CA, manifests and peer settings outlive restarts of its apiserver.
pub struct TestCluster {
    pub name: ClusterName,
    pub id: u32,
    /// Which id's address ranges (pod CIDR, IPs) the cluster uses; normally its own.
    pub ranges: u32,
    pub ca: Arc<ClusterCa>,
    pub manifests: TempDir,
    pub peers_dir: TempDir,
    pub addr: std::net::SocketAddr,
    pub store: Arc<dyn Store>,
    pub running: Option<Running>,
    pub import: ImportTimings,
}

pub struct Running {
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub shutdown: CancellationToken,
    pub source: ManifestSource,
    pub export: watch::Receiver<clustermesh_apiserver::exporter::ExportStatus>,
    _source_rx: watch::Receiver<SourceState>,
}

impl TestCluster {
    /// A cluster whose manifests are [`manifests::cluster`] for `id`.
    pub async fn start(cluster: &str, id: u32) -> Self {
        Self::start_with_ranges(cluster, id, id).await
    }

    /// A cluster with id `id` that uses the address ranges of id `ranges`.
    pub async fn start_with_ranges(cluster: &str, id: u32, ranges: u32) -> Self {
        Self::start_full(cluster, id, ranges, fresh_store()).await
    }

    /// A cluster on `store` instead of a fresh memory store.
    pub async fn start_on(cluster: &str, id: u32, store: Arc<dyn Store>) -> Self {
        Self::start_full(cluster, id, id, store).await
    }

    async fn start_full(cluster: &str, id: u32, ranges: u32, store: Arc<dyn Store>) -> Self {
        let manifests = TempDir::new().expect("manifest dir");
        let yaml = manifests::cluster(cluster, ranges, true);
        manifests::write(manifests.path(), "cluster.yaml", &yaml);
        let ca = Arc::new(ClusterCa::generate(&name(cluster)).expect("CA"));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut this = Self {
            name: name(cluster),
            id,
            ranges,
            ca,
            manifests,
            peers_dir: TempDir::new().expect("peers dir"),
            addr,
            store,
            running: None,
            import: ImportTimings {
                backoff_max: Duration::from_millis(500),
                ..ImportTimings::default()
            },
        };
        this.run(listener).await;
        this
    }

    async fn run(&mut self, listener: TcpListener) {
        let shutdown = CancellationToken::new();
        let (source, source_rx) = ManifestSource::start(self.manifests.path(), shutdown.clone())
            .await
            .expect("manifest source");
        let server = self
            .ca
            .issue(Role::Server, "apiserver", &["127.0.0.1".into()], VALIDITY)
            .expect("server certificate");
        let params = ApiserverParams {
            cluster: self.cluster(),
            ca: self.ca.clone(),
            server_cert_pem: server.cert_pem,
            server_key_pem: server.key_pem,
            peers_dir: self.peers_dir.path().to_owned(),
            store: self.store.clone(),
            source: source_rx.clone(),
            listener,
            metrics_listener: None,
            import: self.import,
            api: ApiTimings::default(),
        };
        let apiserver = Apiserver::start(params, shutdown.clone())
            .await
            .expect("apiserver starts");
        let export = apiserver.export.clone();
        self.running = Some(Running {
            server: tokio::spawn(apiserver.wait()),
            shutdown,
            source,
            export,
            _source_rx: source_rx,
        });
    }

    /// This cluster as `ctl connect` would learn it.
    pub fn cluster(&self) -> Cluster {
        Cluster::try_from(pb::Cluster {
            name: self.name.to_string(),
            id: self.id,
            pod_cidrs: vec![manifests::pod_cidr(self.ranges)],
            advertise_address: self.addr.to_string(),
        })
        .expect("valid cluster")
    }

    /// Stops the apiserver and waits until it has drained.
    pub async fn stop(&mut self) {
        let running = self.running.take().expect("running");
        running.shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(20), running.server)
            .await
            .expect("apiserver drains within 20 s")
            .expect("apiserver task did not panic");
        result.expect("apiserver stopped cleanly");
    }

    /// Starts again on the same address with `store`, keeping CA, manifests and peers.
    pub async fn restart(&mut self, store: Arc<dyn Store>) {
        self.store = store;
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind same address");
        self.run(listener).await;
    }

    pub async fn wait_synced(&self) {
        let mut export = self.running.as_ref().expect("running").export.clone();
        tokio::time::timeout(Duration::from_secs(30), export.wait_for(|s| s.synced))
            .await
            .expect("export synced within 30 s")
            .expect("exporter alive");
    }

    /// A peer certificate this cluster's CA signed for `peer`, as `ctl connect` makes.
    pub fn peer_cert_for(&self, peer: &str) -> IssuedCert {
        let (csr, key_pem) = tls::create_csr(Role::Peer, peer).expect("csr");
        let cert_pem = self
            .ca
            .sign_csr(&csr, Role::Peer, peer, VALIDITY)
            .expect("signed");
        IssuedCert { cert_pem, key_pem }
    }

    pub fn issue(&self, role: Role, name: &str) -> IssuedCert {
        self.ca
            .issue(role, name, &[], VALIDITY)
            .expect("certificate")
    }

    /// A channel to this apiserver presenting `cert`.
    pub async fn channel_as(&self, cert: &IssuedCert) -> Result<Channel, tonic::transport::Error> {
        let tls = tls::client_tls(
            self.ca.cert_pem(),
            &cert.cert_pem,
            &cert.key_pem,
            &tls::apiserver_server_name(&self.name),
        )
        .expect("client TLS");
        tonic::transport::Endpoint::from_shared(format!("https://{}", self.addr))?
            .tls_config(tls)?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
    }

    pub async fn admin(&self) -> pb::admin_client::AdminClient<Channel> {
        let cert = self.issue(Role::Admin, "admin");
        pb::admin_client::AdminClient::new(self.channel_as(&cert).await.expect("admin connects"))
    }

    pub async fn agent(&self, node: &str) -> pb::mesh_client::MeshClient<Channel> {
        let cert = self.issue(Role::Agent, node);
        pb::mesh_client::MeshClient::new(self.channel_as(&cert).await.expect("agent connects"))
    }

    /// The records this cluster's store holds under `cluster`'s prefix.
    pub async fn records_of(&self, cluster: &str) -> Vec<Record> {
        let list = self.store.list(&format!("{cluster}/")).await.expect("list");
        list.items
            .iter()
            .filter_map(|kv| clustermesh_apiserver::layout::decode_record(&kv.key, &kv.value).ok())
            .collect()
    }

    pub async fn has_key(&self, key: &str) -> bool {
        self.store.get(key).await.expect("get").is_some()
    }

    pub fn write_manifest(&self, file: &str, contents: &str) {
        manifests::write(self.manifests.path(), file, contents);
    }
}

pub fn fresh_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new(MemoryStoreConfig::default()))
}

/// `ctl connect` in both directions, through the Admin API only.
pub async fn connect(a: &TestCluster, b: &TestCluster) -> Result<(), tonic::Status> {
    let mut admin_a = a.admin().await;
    let mut admin_b = b.admin().await;
    one_way(&mut admin_a, &mut admin_b).await?;
    one_way(&mut admin_b, &mut admin_a).await
}

/// Makes `importer` import `exporter`: importer's key, exporter's signature.
pub async fn one_way(
    importer: &mut pb::admin_client::AdminClient<Channel>,
    exporter: &mut pb::admin_client::AdminClient<Channel>,
) -> Result<(), tonic::Status> {
    let own = importer
        .get_cluster_info(pb::GetClusterInfoRequest {})
        .await?
        .into_inner();
    let other = exporter
        .get_cluster_info(pb::GetClusterInfoRequest {})
        .await?
        .into_inner();
    let own_name = own.cluster.expect("cluster").name;
    let other_cluster = other.cluster.expect("cluster");
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

/// Polls `check` every 10 ms until it holds, failing after `within`.
pub async fn within<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not true within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn dir_exists(path: &Path) -> bool {
    path.is_dir()
}
