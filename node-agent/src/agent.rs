//! The running agent: register the node and keep its lease, follow the local
//! apiserver's merged view, and reconcile the dataplane whenever it changes (and every
//! [`RESYNC`] anyway, to repair drift). One shutdown token ends every task.

mod client;
mod probes;
mod reconciler;
mod registration;
pub mod watcher;

use std::sync::Arc;

use anyhow::Context as _;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::AgentConfig;
use crate::conntrack::Conntrack;
use crate::exec::{Routes as _, ServiceUpdate, Services as _};
use crate::nft::NftServices;
use crate::observability::{AgentMetrics, Health};
use crate::plan::{LocalNode, PlanConfig};
use crate::reconcile::Dataplane;
use crate::routes::NetlinkRoutes;
use crate::view::MergedView;
use crate::wireguard::{DeviceConfig, NodeKeys, WgDevice};

pub use reconciler::{RESYNC, STATUS_REFRESH};

/// Runs until `shutdown`. The WireGuard device, routes and rules stay in place when it
/// returns: a restarted agent adopts and reconciles them (`node-agent cleanup` removes
/// them).
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    crate::preflight::check(config.backend).context("preflight")?;
    // Bound first: a taken port fails before the dataplane is touched.
    let metrics_listener = match config.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics-listen {addr}"))?,
        ),
        None => None,
    };
    let keys = NodeKeys::load_or_generate(&config.state_dir).context("WireGuard key pair")?;
    let mut device_config = DeviceConfig::new(&config.interface, config.wg_port);
    device_config.backend = config.backend;
    device_config.userspace = config.userspace;
    let device = WgDevice::start(&device_config, &keys)
        .await
        .context("WireGuard device")?;
    let routes = NetlinkRoutes::new(&config.interface).context("routes")?;
    routes.observe().await.context("reading routes")?;
    let services = Arc::new(NftServices::new().with_untracked_tunnel_port(config.wg_port));
    services.preflight().await.context("nftables")?;
    // The base chains now, not with the first global service: the tunnel's conntrack
    // exemption is there for a node without any.
    services
        .apply(&ServiceUpdate::default())
        .await
        .context("nftables base chains")?;
    let dataplane = Dataplane {
        tunnels: Arc::new(device.tunnels()),
        routes: Arc::new(routes),
        services: services.clone(),
        flows: Arc::new(Conntrack),
    };

    let channel = client::connect(&config).await?;
    let (view_tx, view_rx) = watch::channel(MergedView::new());
    let (report_tx, report_rx) = watch::channel(None);
    let metrics = AgentMetrics::new();
    let health = Health::default();
    let mut tasks = JoinSet::new();
    if let Some(listener) = metrics_listener {
        let server = crate::observability::serve(
            listener,
            metrics.clone(),
            health.clone(),
            shutdown.clone(),
        );
        spawn(&mut tasks, "metrics", async move {
            server.await.context("metrics server")
        });
    }
    let registration = registration::Registration {
        client: channel.clone(),
        node: config.node.clone(),
        tunnels: report_rx,
        health: health.clone(),
        wireguard: clustermesh_proto::pb::WireGuard {
            public_key: keys.public().as_bytes().to_vec(),
            listen_port: u32::from(config.wg_port),
            endpoint: config.endpoint.map(|e| e.to_string()).unwrap_or_default(),
        },
    };
    spawn(
        &mut tasks,
        "registration",
        registration.run(shutdown.clone()),
    );

    spawn(
        &mut tasks,
        "watch",
        watcher::follow(channel.clone(), view_tx, shutdown.clone()),
    );
    let me = LocalNode {
        cluster: config.cluster.clone(),
        node: config.node.clone(),
    };
    let plan_config = PlanConfig {
        keepalive: config.keepalive,
    };
    let probe_context = probes::ProbeContext {
        counters: services,
        view: view_rx.clone(),
        me: me.clone(),
    };
    spawn(
        &mut tasks,
        "probes",
        probes::serve(channel, probe_context, shutdown.clone()),
    );
    let reconciler = reconciler::Reconciler {
        me,
        config: plan_config,
        dataplane,
        metrics,
        health,
        tunnel_report: report_tx,
    };
    spawn(
        &mut tasks,
        "reconcile",
        reconciler.run(view_rx, shutdown.clone()),
    );

    let first = tokio::select! {
        () = shutdown.cancelled() => None,
        done = tasks.join_next() => done,
    };
    let stopping = shutdown.is_cancelled();
    shutdown.cancel();
    while tasks.join_next().await.is_some() {}
    match first {
        Some(Ok((_, Ok(())))) if stopping => Ok(()),
        Some(Ok((name, Ok(())))) => anyhow::bail!("{name} stopped unexpectedly"),
        Some(Ok((name, Err(e)))) => Err(e.context(format!("{name} failed"))),
        Some(Err(e)) => anyhow::bail!("a task panicked: {e}"),
        None => Ok(()),
    }
}

type TaskResult = (&'static str, anyhow::Result<()>);

fn spawn(
    tasks: &mut JoinSet<TaskResult>,
    name: &'static str,
    task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    let span = tracing::info_span!("task", name);
    tasks.spawn(async move { (name, task.await) }.instrument(span));
}
