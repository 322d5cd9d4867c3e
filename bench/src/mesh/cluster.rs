//! One cluster's apiserver in this process, with its store and a source the bench
//! publishes to.

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::Context as _;
use clustermesh_apiserver::{
    api::ApiTimings,
    exporter::ExportStatus,
    import::{ImportTimings, PeerRegistry},
    server::{Apiserver, ApiserverParams},
    source::{ClusterObjects, SourceState},
    store::{
        Store,
        memory::{MemoryStore, MemoryStoreConfig},
        testing::RaftCluster,
    },
};
use clustermesh_proto::{
    Cluster, ClusterName, pb,
    tls::{ClusterCa, IssuedCert, Role},
};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;

const VALIDITY: Duration = Duration::from_secs(24 * 60 * 60);

/// Which store backs a cluster's apiserver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded default: raft, one replica, on disk (every write fsynced).
    Raft,
    Memory,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Raft => "raft (1 replica, on disk)",
            Self::Memory => "memory",
        }
    }
}

pub struct MeshCluster {
    pub name: ClusterName,
    pub ca: Arc<ClusterCa>,
    pub addr: std::net::SocketAddr,
    pub store: Arc<dyn Store>,
    pub export: watch::Receiver<ExportStatus>,
    pub peers: Arc<PeerRegistry>,
    source: watch::Sender<SourceState>,
    generation: u64,
    shutdown: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _raft: Option<RaftCluster>,
    _peers_dir: TempDir,
}

impl MeshCluster {
    /// An apiserver for cluster `name` (id `id`, pods in `pod_cidr`) exporting
    /// `objects`, on `127.0.0.1:0`.
    pub async fn start(
        name: &str,
        id: u32,
        pod_cidr: &str,
        store: StoreKind,
        objects: ClusterObjects,
    ) -> anyhow::Result<Self> {
        let name = ClusterName::new(name).context("cluster name")?;
        let (store, raft): (Arc<dyn Store>, _) = match store {
            StoreKind::Memory => (
                Arc::new(MemoryStore::new(MemoryStoreConfig::default())),
                None,
            ),
            StoreKind::Raft => {
                let raft = RaftCluster::start(1, |_| {})
                    .await
                    .map_err(anyhow::Error::msg)?;
                let leader = raft.leader().await.map_err(anyhow::Error::msg)?;
                let node = raft.node(leader).context("raft leader not running")?;
                (node, Some(raft))
            }
        };
        let ca = Arc::new(ClusterCa::generate(&name).context("cluster CA")?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let cluster = Cluster::try_from(pb::Cluster {
            name: name.to_string(),
            id,
            pod_cidrs: vec![pod_cidr.to_owned()],
            advertise_address: addr.to_string(),
        })
        .context("cluster record")?;
        let server_cert = ca
            .issue(Role::Server, "apiserver", &["127.0.0.1".into()], VALIDITY)
            .context("server certificate")?;
        let (source, source_rx) = watch::channel(SourceState {
            objects: Arc::new(objects),
            errors: Vec::new(),
            generation: 1,
        });
        let peers_dir = TempDir::new()?;
        let shutdown = CancellationToken::new();
        let params = ApiserverParams {
            cluster,
            ca: ca.clone(),
            server_cert_pem: server_cert.cert_pem,
            server_key_pem: server_cert.key_pem,
            peers_dir: peers_dir.path().to_owned(),
            store: store.clone(),
            source: source_rx,
            listener,
            metrics_listener: None,
            import: ImportTimings {
                backoff_max: Duration::from_millis(500),
                ..ImportTimings::default()
            },
            api: ApiTimings::default(),
        };
        let apiserver = Apiserver::start(params, shutdown.clone()).await?;
        let export = apiserver.export.clone();
        let peers = apiserver.peers.clone();
        Ok(Self {
            name,
            ca,
            addr,
            store,
            export,
            peers,
            source,
            generation: 1,
            shutdown,
            server: Some(tokio::spawn(apiserver.wait())),
            _raft: raft,
            _peers_dir: peers_dir,
        })
    }

    /// Publishes a new state of the cluster's objects, as a source does after a change.
    pub fn publish(&mut self, objects: Arc<ClusterObjects>) {
        self.generation += 1;
        self.source.send_replace(SourceState {
            objects,
            errors: Vec::new(),
            generation: self.generation,
        });
    }

    /// The objects last published.
    pub fn objects(&self) -> Arc<ClusterObjects> {
        self.source.borrow().objects.clone()
    }

    /// A certificate of this cluster's CA for `role`.
    pub fn issue(&self, role: Role, name: &str) -> anyhow::Result<IssuedCert> {
        self.ca
            .issue(role, name, &[], VALIDITY)
            .context("client certificate")
    }

    /// Writes the CA and an admin certificate into `dir`, as a `ctl` context needs.
    pub fn write_admin_files(&self, dir: &Path) -> anyhow::Result<[std::path::PathBuf; 3]> {
        let admin = self.issue(Role::Admin, "admin")?;
        let paths = [
            dir.join(format!("{}-ca.pem", self.name)),
            dir.join(format!("{}-admin.pem", self.name)),
            dir.join(format!("{}-admin-key.pem", self.name)),
        ];
        for (path, pem) in paths
            .iter()
            .zip([self.ca.cert_pem(), &admin.cert_pem, &admin.key_pem])
        {
            std::fs::write(path, pem).with_context(|| path.display().to_string())?;
        }
        Ok(paths)
    }

    /// Stops the apiserver and waits for it to drain.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(30), server)
                .await
                .context("apiserver did not drain within 30 s")?
                .context("apiserver task")??;
        }
        Ok(())
    }
}

impl Drop for MeshCluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
