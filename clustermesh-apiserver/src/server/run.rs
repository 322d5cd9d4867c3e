//! `clustermesh-apiserver run`: load the data directory, open the store and the source,
//! bind every listener, then serve until SIGINT or SIGTERM. Everything that can fail
//! because of configuration fails before the first task starts.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use anyhow::Context as _;
use clustermesh_proto::{Cluster, HostPort, tls};
use tokio::{net::TcpListener, sync::watch};
use tokio_util::sync::CancellationToken;

use super::{Apiserver, ApiserverParams};
use crate::api::ApiTimings;
use crate::config::{RunConfig, SourceSpec, StoreSpec};
use crate::data_dir::{DataDir, LoadedDataDir};
use crate::import::ImportTimings;
use crate::source::{ManifestSource, SourceState, kube::KubeSource};
use crate::store::{
    Store,
    etcd::{EtcdStore, EtcdStoreConfig},
    memory::{MemoryStore, MemoryStoreConfig},
    raft::{RaftStore, RaftStoreConfig, RaftTls, StartMode},
};

/// Runs until interrupted.
pub async fn run(config: RunConfig) -> anyhow::Result<()> {
    let data = DataDir::open(&config.data_dir)
        .with_context(|| format!("data directory {}", config.data_dir.display()))?;
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("--listen {}", config.listen))?;
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics-listen {addr}"))?,
        ),
        None => None,
    };
    let (store, raft) = open_store(&config.store, &data).await?;
    let (source, source_rx) = open_source(&config.source, shutdown.clone()).await?;
    let cluster = base_cluster(&data, config.listen)?;
    // The APIs share the CA; the loaded data directory keeps its own copy.
    let ca = tls::ClusterCa::from_pem(data.ca_pem(), &data.ca().key_pem()).context("cluster CA")?;
    let params = ApiserverParams {
        cluster,
        ca: Arc::new(ca),
        server_cert_pem: data.server_cert_pem().to_owned(),
        server_key_pem: data.server_key_pem().to_owned(),
        peers_dir: data.peers_dir(),
        store,
        source: source_rx,
        listener,
        metrics_listener,
        import: ImportTimings {
            peer_timeout: config.peer_timeout,
            cache_ttl: config.peer_cache_ttl,
            ..ImportTimings::default()
        },
        api: ApiTimings {
            node_lease_ttl: config.node_lease_ttl,
        },
    };
    let apiserver = Apiserver::start(params, shutdown.clone()).await?;
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received; shutting down");
        signals.cancel();
    });
    let result = apiserver.wait().await;
    // The source ends with the shutdown signal; its task owns nothing else.
    drop(source);
    if let Some(raft) = raft {
        raft.shutdown().await;
    }
    result
}

/// The store backend the flags name, opened and checked; the raft store also as
/// itself, to be stopped cleanly at the end.
async fn open_store(
    spec: &StoreSpec,
    data: &LoadedDataDir,
) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<RaftStore>>)> {
    Ok(match spec {
        StoreSpec::Memory => {
            tracing::warn!(
                "--store memory keeps nothing across restarts; use it for tests and demos only"
            );
            (
                Arc::new(MemoryStore::new(MemoryStoreConfig::default())),
                None,
            )
        }
        StoreSpec::Etcd { endpoints } => {
            let config = EtcdStoreConfig {
                endpoints: endpoints.clone(),
                ..EtcdStoreConfig::default()
            };
            (
                Arc::new(EtcdStore::connect(config).await.context("--store etcd")?),
                None,
            )
        }
        StoreSpec::Raft {
            node_id,
            listen,
            peers,
        } => {
            let addresses: BTreeMap<_, _> = match peers.is_empty() {
                true => BTreeMap::from([(*node_id, single_replica_address(*listen)?)]),
                false => peers.iter().map(|p| (p.id, p.addr)).collect(),
            };
            let tls = RaftTls {
                ca_pem: data.ca_pem().to_owned(),
                cert_pem: data.server_cert_pem().to_owned(),
                key_pem: data.server_key_pem().to_owned(),
                server_name: tls::apiserver_server_name(&data.identity().name),
            };
            let config = RaftStoreConfig::new(*node_id, addresses, data.store_dir(), tls);
            // A store that exists is reopened; only a missing one is bootstrapped, so a
            // damaged store is refused rather than silently replaced.
            let mode = match config.data_dir.join("raft.redb").exists() {
                true => StartMode::Existing,
                false => StartMode::Bootstrap,
            };
            let raft = Arc::new(
                RaftStore::start(config, mode)
                    .await
                    .context("--store raft")?,
            );
            (raft.clone(), Some(raft))
        }
    })
}

/// A lone replica replicates to nobody, but the raft store still serves its port:
/// loopback, on the port asked for or a free one.
fn single_replica_address(listen: Option<SocketAddr>) -> anyhow::Result<SocketAddr> {
    if let Some(addr) = listen {
        return Ok(addr);
    }
    let probe = std::net::TcpListener::bind("127.0.0.1:0").context("finding a raft port")?;
    Ok(probe.local_addr()?)
}

async fn open_source(
    spec: &SourceSpec,
    shutdown: CancellationToken,
) -> anyhow::Result<(OpenSource, watch::Receiver<SourceState>)> {
    Ok(match spec {
        SourceSpec::Manifests(dir) => {
            let (source, rx) = ManifestSource::start(dir, shutdown)
                .await
                .with_context(|| format!("--source manifests:{}", dir.display()))?;
            (OpenSource::Manifests(source), rx)
        }
        SourceSpec::Kube { context } => {
            let client = KubeSource::client_for_context(context.as_deref())
                .await
                .context("--source kube")?;
            let (source, rx) = KubeSource::start(client, shutdown)
                .await
                .context("--source kube")?;
            (OpenSource::Kube(source), rx)
        }
    })
}

/// Keeps the source's tasks alive for as long as the apiserver runs.
#[allow(dead_code)] // Held for its Drop.
enum OpenSource {
    Manifests(ManifestSource),
    Kube(KubeSource),
}

/// This cluster as the data directory describes it; without an advertised address,
/// the listen address stands in.
fn base_cluster(data: &LoadedDataDir, listen: SocketAddr) -> anyhow::Result<Cluster> {
    let identity = data.identity();
    let advertise = match &identity.advertise {
        Some(advertise) => advertise.clone(),
        None => {
            if listen.ip().is_unspecified() {
                tracing::warn!(%listen, "no advertise address in the data directory; peers cannot dial an unspecified address");
            }
            listen
                .to_string()
                .parse::<HostPort>()
                .context("listen address as advertise address")?
        }
    };
    Ok(Cluster {
        name: identity.name.clone(),
        id: identity.id,
        pod_cidrs: identity.pod_cidrs.clone(),
        advertise_address: advertise,
    })
}

async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
