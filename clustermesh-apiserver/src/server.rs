//! A running apiserver, assembled: store, exporter, peer imports, the gRPC APIs and the
//! observability endpoints, under one shutdown signal. [`run`] builds it from the
//! command line; tests build it from [`ApiserverParams`] directly.

mod observe;
mod run;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use clustermesh_proto::{
    Cluster, pb,
    tls::{self, ClusterCa},
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::api::{AdminApi, ApiContext, ApiTimings, MAX_REQUEST_BYTES, MeshApi, PeerExportApi};
use crate::drill::{Faults, ProbeHub};
use crate::exporter::{ExportStatus, Exporter, ExporterConfig};
use crate::feed;
use crate::import::{ImportTimings, PeerFiles, PeerRegistry};
use crate::observability::{self, Health, Metrics};
use crate::source::SourceState;
use crate::store::Store;

pub use run::run;

/// How long tasks get to finish after shutdown is signalled.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything an apiserver runs with, already loaded and bound, so that nothing about
/// the configuration can fail after the first task starts.
pub struct ApiserverParams {
    /// This cluster: name, id, advertise address, declared pod CIDRs (may be empty).
    pub cluster: Cluster,
    pub ca: Arc<ClusterCa>,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    /// Where peer settings and keys are kept.
    pub peers_dir: PathBuf,
    pub store: Arc<dyn Store>,
    pub source: watch::Receiver<SourceState>,
    pub listener: TcpListener,
    pub metrics_listener: Option<TcpListener>,
    pub import: ImportTimings,
    pub api: ApiTimings,
}

type TaskResult = (&'static str, anyhow::Result<()>);

pub struct Apiserver {
    pub local_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub export: watch::Receiver<ExportStatus>,
    pub peers: Arc<PeerRegistry>,
    pub metrics: Metrics,
    pub health: Health,
    shutdown: CancellationToken,
    tasks: JoinSet<TaskResult>,
}

impl Apiserver {
    pub async fn start(
        params: ApiserverParams,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let ApiserverParams {
            cluster,
            ca,
            server_cert_pem,
            server_key_pem,
            peers_dir,
            store,
            source,
            listener,
            metrics_listener,
            import,
            api,
        } = params;
        let server_tls = tls::server_tls(&server_cert_pem, &server_key_pem, ca.cert_pem())
            .context("server TLS settings")?;
        let local_addr = listener.local_addr().context("API listener address")?;
        let metrics_addr = match &metrics_listener {
            Some(l) => Some(l.local_addr().context("metrics listener address")?),
            None => None,
        };
        let epoch: Arc<str> = feed::epoch::ensure(store.as_ref())
            .await
            .context("reading the store's epoch")?
            .into();

        let metrics = Metrics::new();
        let (health, reporter) = Health::new();
        for condition in observe::CONDITIONS {
            reporter.register(condition);
        }
        let faults = Faults::default();
        let (exporter, export) = Exporter::new(
            store.clone(),
            ExporterConfig::new(cluster.clone()),
            source.clone(),
        );
        let exporter = exporter.with_faults(faults.subscribe());
        let (own_tx, own) = watch::channel(cluster.clone());
        let peers = PeerRegistry::start(
            store.clone(),
            ca.clone(),
            own.clone(),
            PeerFiles::new(peers_dir),
            import,
            shutdown.child_token(),
        );
        let ctx = ApiContext {
            cluster: cluster.name.clone(),
            store,
            epoch,
            peers: peers.clone(),
            own,
            export: export.clone(),
            source,
            ca_pem: ca.cert_pem().into(),
            metrics: metrics.clone(),
            timings: api,
            heartbeats: Arc::default(),
            faults: faults.clone(),
            probes: ProbeHub::default(),
            shutdown: shutdown.clone(),
        };

        let mut tasks = JoinSet::new();
        let grpc = grpc(ctx, server_tls, listener, shutdown.clone())?;
        spawn(&mut tasks, "grpc", grpc);
        let expiring = faults.expire(shutdown.clone());
        spawn(&mut tasks, "drill faults", async move {
            expiring.await;
            Ok(())
        });
        let exporting = exporter.run(shutdown.clone());
        spawn(&mut tasks, "exporter", async move {
            exporting.await;
            Ok(())
        });
        let observer = observe::Observer {
            export: export.clone(),
            peers: peers.clone(),
            metrics: metrics.clone(),
            health: reporter,
            own: own_tx,
            cluster: cluster.name.clone(),
            lag_seen: Default::default(),
            counted: Default::default(),
        };
        spawn(&mut tasks, "observer", observer.run(shutdown.clone()));
        if let Some(listener) = metrics_listener {
            let serving =
                observability::serve(listener, metrics.clone(), health.clone(), shutdown.clone());
            spawn(&mut tasks, "metrics", async move {
                serving.await.context("metrics endpoint")
            });
        }
        tracing::info!(%local_addr, cluster = %cluster.name, "apiserver started");
        Ok(Self {
            local_addr,
            metrics_addr,
            export,
            peers,
            metrics,
            health,
            shutdown,
            tasks,
        })
    }

    /// Signals every task to stop.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Runs until shutdown, then drains. A task that ends before shutdown is fatal: the
    /// others are stopped and its error returned, so the process never limps on.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let first = tokio::select! {
            biased;
            () = self.shutdown.cancelled() => None,
            done = self.tasks.join_next() => done,
        };
        // A task that ended cleanly because shutdown had just been signalled is fine.
        let stopping = self.shutdown.is_cancelled();
        self.shutdown.cancel();
        let failure = first.and_then(|joined| match joined {
            Ok((_, Ok(()))) if stopping => None,
            Ok((name, Ok(()))) => Some(anyhow::anyhow!("{name} stopped unexpectedly")),
            Ok((name, Err(e))) => Some(e.context(format!("{name} failed"))),
            Err(e) => Some(anyhow::anyhow!("a task panicked: {e}")),
        });
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while let Some(joined) = self.tasks.join_next().await {
                if let Ok((name, Err(e))) = joined {
                    tracing::warn!(task = name, error = %format!("{e:#}"), "task failed while stopping");
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(timeout = ?DRAIN_TIMEOUT, "tasks still running after the drain timeout; aborting them");
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn spawn(
    tasks: &mut JoinSet<TaskResult>,
    name: &'static str,
    task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    let span = tracing::info_span!("task", name);
    tasks.spawn(async move { (name, task.await) }.instrument(span));
}

fn grpc(
    ctx: ApiContext,
    tls: tonic::transport::ServerTlsConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<impl Future<Output = anyhow::Result<()>> + Send + 'static> {
    let mesh = pb::mesh_server::MeshServer::new(MeshApi::new(ctx.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let peer = pb::peer_export_server::PeerExportServer::new(PeerExportApi::new(ctx.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let admin = pb::admin_server::AdminServer::new(AdminApi::new(ctx))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let router = tonic::transport::Server::builder()
        .tls_config(tls)
        .context("gRPC TLS settings")?
        .tcp_nodelay(true)
        .add_service(mesh)
        .add_service(peer)
        .add_service(admin);
    let incoming = TcpListenerStream::new(listener);
    Ok(async move {
        router
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await
            .context("gRPC server")
    })
}
