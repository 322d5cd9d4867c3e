//! In-process clusters for ctl's tests. Each is created the way an operator creates
//! one: `clustermesh-apiserver init` (through its library) writes the data directory
//! and adds a context to the test's own ctl config; then the apiserver runs from that
//! data directory with a memory store and a manifest directory, on 127.0.0.1:0.
#![allow(dead_code)] // Each test binary uses a different part.

pub mod agent;
pub mod manifests;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use clustermesh_apiserver::{
    api::ApiTimings,
    cli::{Cli, Command, InitArgs},
    data_dir::DataDir,
    import::ImportTimings,
    server::{Apiserver, ApiserverParams},
    source::ManifestSource,
    store::memory::{MemoryStore, MemoryStoreConfig},
};
use clustermesh_proto::{Cidr, Cluster, ClusterId, ClusterName, HostPort, tls::ClusterCa};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use self::manifests::Ranges;

/// A test's ctl config and the clusters it names.
pub struct Mesh {
    pub dir: TempDir,
    pub config: PathBuf,
}

/// What one `ctl` run printed.
#[derive(Debug)]
pub struct Output {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

impl Mesh {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("ctl/config.yaml");
        Self { dir, config }
    }

    /// `ctl --config <ours> <args>`, in-process.
    pub async fn ctl(&self, args: &[&str]) -> Output {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let config = self.config.to_str().expect("utf-8 path");
        let argv = ["ctl", "--config", config]
            .into_iter()
            .chain(args.iter().copied());
        let code = ctl::run(argv, &mut ctl::Io::plain(&mut out, &mut err)).await;
        let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8 output");
        let output = Output {
            code,
            stdout: text(out),
            stderr: text(err),
        };
        assert!(!output.stderr.contains("panicked"), "{output:?}");
        output
    }

    /// `ctl` that must succeed.
    pub async fn ok(&self, args: &[&str]) -> Output {
        let output = self.ctl(args).await;
        assert_eq!(output.code, 0, "ctl {args:?} failed: {output:?}");
        output
    }

    /// Inits a cluster (declaring `declared` pod CIDRs) and starts its apiserver.
    pub async fn cluster(
        &self,
        name: &str,
        id: u32,
        ranges: Ranges,
        declared: &str,
    ) -> TestCluster {
        TestCluster::init(self, name, id, ranges, declared).await
    }

    pub async fn connected_pair(&self) -> (TestCluster, TestCluster) {
        let a = self.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
        let b = self.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
        let out = self
            .ok(&[
                "connect",
                "--context",
                "a",
                "--destination-context",
                "b",
                "--wait",
                "--timeout",
                "60s",
            ])
            .await;
        assert!(out.stdout.contains("connected a and b"), "{out:?}");
        (a, b)
    }
}

pub struct TestCluster {
    pub name: String,
    pub addr: std::net::SocketAddr,
    pub data_dir: PathBuf,
    pub manifests: TempDir,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _source: ManifestSource,
}

impl TestCluster {
    async fn init(mesh: &Mesh, name: &str, id: u32, ranges: Ranges, declared: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let data_dir = mesh.dir.path().join(format!("data-{name}"));
        let args = InitArgs {
            cluster_name: ClusterName::new(name).expect("name"),
            cluster_id: ClusterId::try_from(id).expect("id"),
            data_dir: data_dir.clone(),
            advertise: Some(addr.to_string().parse::<HostPort>().expect("address")),
            pod_cidrs: vec![declared.parse::<Cidr>().expect("cidr")],
            ctl_config: Some(mesh.config.clone()),
        };
        let init = Cli {
            command: Command::Init(args),
        };
        init.run().await.expect("clustermesh-apiserver init");

        let manifests = TempDir::new().expect("manifest dir");
        manifests::write(
            manifests.path(),
            "cluster.yaml",
            &manifests::cluster(name, ranges, name == "a"),
        );
        let shutdown = CancellationToken::new();
        let (source, source_rx) = ManifestSource::start(manifests.path(), shutdown.clone())
            .await
            .expect("manifest source");
        let data = DataDir::open(&data_dir).expect("data dir written by init");
        let identity = data.identity();
        let ca = ClusterCa::from_pem(data.ca_pem(), &data.ca().key_pem()).expect("CA");
        let params = ApiserverParams {
            cluster: Cluster {
                name: identity.name.clone(),
                id: identity.id,
                pod_cidrs: identity.pod_cidrs.clone(),
                advertise_address: identity.advertise.clone().expect("advertised"),
            },
            ca: Arc::new(ca),
            server_cert_pem: data.server_cert_pem().to_owned(),
            server_key_pem: data.server_key_pem().to_owned(),
            peers_dir: data.peers_dir(),
            store: Arc::new(MemoryStore::new(MemoryStoreConfig::default())),
            source: source_rx,
            listener,
            metrics_listener: None,
            import: ImportTimings {
                backoff_max: Duration::from_millis(500),
                ..ImportTimings::default()
            },
            api: ApiTimings::default(),
        };
        let apiserver = Apiserver::start(params, shutdown.clone())
            .await
            .expect("apiserver starts");
        Self {
            name: name.to_owned(),
            addr,
            data_dir,
            manifests,
            shutdown,
            server: Some(tokio::spawn(apiserver.wait())),
            _source: source,
        }
    }

    /// Stops the apiserver and waits until it has drained.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let result = tokio::time::timeout(Duration::from_secs(20), server)
                .await
                .expect("apiserver drains within 20 s")
                .expect("apiserver task did not panic");
            result.expect("apiserver stopped cleanly");
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Runs `check` until it returns `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not true within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
