//! The running agent: register the node and keep its lease, follow the local
//! apiserver's merged view, and reconcile the dataplane whenever it changes (and every
//! [`RESYNC`] anyway, to repair drift). One shutdown token ends every task.

mod client;
mod registration;
mod watcher;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use tokio::{sync::watch, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::AgentConfig;
use crate::exec::Routes as _;
use crate::nft::NftServices;
use crate::plan::{LocalNode, PlanConfig};
use crate::reconcile::{Dataplane, converge, planned};
use crate::routes::NetlinkRoutes;
use crate::view::MergedView;
use crate::wireguard::{DeviceConfig, NodeKeys, WgDevice};

/// How often the dataplane is reconciled even when nothing changed.
pub const RESYNC: Duration = Duration::from_secs(30);

/// Runs until `shutdown`. The WireGuard device, routes and rules stay in place when it
/// returns: a restarted agent adopts and reconciles them (`node-agent cleanup` removes
/// them).
pub async fn run(config: AgentConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let keys = NodeKeys::load_or_generate(&config.state_dir).context("WireGuard key pair")?;
    let mut device_config = DeviceConfig::new(&config.interface, config.wg_port);
    device_config.backend = config.backend;
    let device = WgDevice::start(&device_config, &keys)
        .await
        .context("WireGuard device")?;
    let routes = NetlinkRoutes::new(&config.interface).context("routes")?;
    routes.observe().await.context("reading routes")?;
    let services = NftServices::new();
    services.preflight().await.context("nftables")?;
    let dataplane = Dataplane {
        tunnels: Arc::new(device.tunnels()),
        routes: Arc::new(routes),
        services: Arc::new(services),
    };

    let channel = client::connect(&config).await?;
    let (view_tx, view_rx) = watch::channel(MergedView::new());
    let mut tasks = JoinSet::new();
    let registration = registration::Registration {
        client: channel.clone(),
        node: config.node.clone(),
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
        watcher::follow(channel, view_tx, shutdown.clone()),
    );
    let me = LocalNode {
        cluster: config.cluster.clone(),
        node: config.node.clone(),
    };
    let plan_config = PlanConfig {
        keepalive: config.keepalive,
    };
    spawn(
        &mut tasks,
        "reconcile",
        reconcile_loop(view_rx, me, plan_config, dataplane, shutdown.clone()),
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

async fn reconcile_loop(
    mut view: watch::Receiver<MergedView>,
    me: LocalNode,
    config: PlanConfig,
    dataplane: Dataplane,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut resync = tokio::time::interval(RESYNC);
    resync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            changed = view.changed() => changed.context("view closed")?,
            _ = resync.tick() => {}
        }
        // Planned under the borrow (pure and quick); applied after it is released, so
        // the watcher is never blocked by a slow apply.
        let Some(desired) = planned(&view.borrow_and_update(), &me, &config) else {
            continue;
        };
        let started = std::time::Instant::now();
        match converge(&desired, &dataplane).await {
            Ok(changes) if !changes.is_empty() => {
                tracing::info!(changes = changes.len(), took = ?started.elapsed(), "dataplane updated");
            }
            Ok(_) => {}
            // Retried at the next change or resync; what was applied stays applied.
            Err(error) => tracing::warn!(%error, "applying the plan failed"),
        }
    }
}
