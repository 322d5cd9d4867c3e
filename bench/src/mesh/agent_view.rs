//! A node agent's control-plane half in this process: `node_agent`'s own watcher
//! following `Mesh.Watch` of its cluster's apiserver into the agent's `MergedView`.
//! The planner and executors are left out: what these scenarios measure ends at the
//! merged view.

use std::time::Duration;

use anyhow::Context as _;
use clustermesh_proto::tls::{self, Role};
use node_agent::MergedView;
use tokio::{sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

use super::MeshCluster;

pub struct AgentView {
    pub view: watch::Receiver<MergedView>,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl AgentView {
    /// Follows `cluster`'s apiserver as the agent of node `node`.
    pub async fn start(cluster: &MeshCluster, node: &str) -> anyhow::Result<Self> {
        let channel = agent_channel(cluster, node).await?;
        let (tx, view) = watch::channel(MergedView::new());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(node_agent::agent::watcher::follow(
            channel,
            tx,
            shutdown.clone(),
        ));
        Ok(Self {
            view,
            shutdown,
            task,
        })
    }

    /// Waits until `done` holds for the view, checking after every batch of events.
    pub async fn wait_for(
        &mut self,
        within: Duration,
        what: &str,
        mut done: impl FnMut(&MergedView) -> bool,
    ) -> anyhow::Result<()> {
        tokio::time::timeout(within, self.view.wait_for(|v| done(v)))
            .await
            .with_context(|| format!("{what}: not within {within:?}"))?
            .context("the watcher stopped")?;
        Ok(())
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await.context("watcher task")?
    }
}

async fn agent_channel(cluster: &MeshCluster, node: &str) -> anyhow::Result<Channel> {
    let cert = cluster.issue(Role::Agent, node)?;
    let tls = tls::client_tls(
        cluster.ca.cert_pem(),
        &cert.cert_pem,
        &cert.key_pem,
        &tls::apiserver_server_name(&cluster.name),
    )
    .context("agent TLS")?;
    Ok(Endpoint::from_shared(format!("https://{}", cluster.addr))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?)
}
