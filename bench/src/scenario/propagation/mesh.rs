//! The clustermesh side: 10 apiservers, fully connected, and an agent view in c2;
//! c1's source publishes the churn.

use std::{net::IpAddr, net::Ipv4Addr, sync::Arc, time::Duration};

use anyhow::Context as _;
use clustermesh_apiserver::source::ClusterObjects;
use node_agent::MergedView;
use tokio::{sync::watch, time::Instant};

use super::{
    CLUSTERS, ENDPOINTS_PER_CLUSTER, SERVICES_PER_CLUSTER, Window, keep_going, schedule,
    window::{Change, GRACE, Pending, TICK, due},
};
use crate::mesh::{AgentView, MeshCluster, StoreKind, connect, connect::client_config, workload};

pub fn shape(cluster_index: u32) -> workload::Shape {
    workload::Shape {
        cluster_index,
        nodes: 25,
        pods: ENDPOINTS_PER_CLUSTER,
        services: SERVICES_PER_CLUSTER,
        backends: 10,
    }
}

/// Moves c1's pods one after the other, each to the address of its next generation:
/// an address comes back only after [`workload::Shape::generations`] moves of its pod,
/// so each change is told apart by its address.
pub struct Churn {
    pub objects: ClusterObjects,
    shape: workload::Shape,
    next: u32,
    generations: Vec<u32>,
}

impl Churn {
    pub fn new(shape: workload::Shape, objects: ClusterObjects) -> Self {
        Self {
            objects,
            shape,
            next: 0,
            generations: vec![0; shape.pods as usize],
        }
    }

    /// The next change, applied to `objects`, and the pod's new address.
    pub fn next(&mut self) -> (Change, Ipv4Addr) {
        let pod = self.next % self.shape.pods;
        self.next += 1;
        let generation = &mut self.generations[pod as usize];
        *generation += 1;
        let ip = workload::move_pod(&mut self.objects, "c1", self.shape, pod, *generation);
        let change = Change {
            pod,
            generation: *generation,
        };
        (change, ip)
    }
}

pub async fn measure() -> anyhow::Result<Vec<Window>> {
    let mut clusters = Vec::new();
    for i in 1..=CLUSTERS {
        let name = format!("c{i}");
        let shape = shape(i);
        let objects = workload::objects(&name, shape);
        clusters
            .push(MeshCluster::start(&name, i, &shape.pod_cidr(), StoreKind::Raft, objects).await?);
    }
    let dir = tempfile::tempdir()?;
    let config = client_config(&clusters.iter().collect::<Vec<_>>(), dir.path())?;
    let started = Instant::now();
    for i in 0..clusters.len() {
        for j in i + 1..clusters.len() {
            connect(&config, &clusters[i], &clusters[j]).await?;
        }
    }
    let total = (CLUSTERS * ENDPOINTS_PER_CLUSTER) as usize;
    let mut agent = AgentView::start(&clusters[1], "c2-node0").await?;
    agent
        .wait_for(
            Duration::from_secs(300),
            "c2's agent holding every cluster's endpoints",
            |v| v.endpoint_count() == total,
        )
        .await?;
    eprintln!(
        "propagation: {CLUSTERS} clusters connected, c2's agent holds {total} endpoints after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut churn = Churn::new(shape(1), clusters[0].objects().as_ref().clone());
    let mut windows = Vec::new();
    for (rate, seconds) in schedule() {
        let window =
            run_window(&mut clusters[0], &mut churn, &mut agent.view, rate, seconds).await?;
        if !keep_going(&mut windows, window) {
            break;
        }
    }
    agent.stop().await?;
    for cluster in clusters {
        cluster.stop().await?;
    }
    Ok(windows)
}

async fn run_window(
    c1: &mut MeshCluster,
    churn: &mut Churn,
    view: &mut watch::Receiver<MergedView>,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Window> {
    let c1_name = c1.name.clone();
    let mut pending = Pending::new();
    let shape = shape(1);
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tick = tokio::time::interval(TICK);
    let mut published = 0;
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < end => {
                let now_due = due(rate, start.elapsed());
                let changes: Vec<Change> = (published..now_due).map(|_| churn.next().0).collect();
                published = now_due;
                if !changes.is_empty() {
                    c1.publish(Arc::new(churn.objects.clone()));
                    let at = Instant::now();
                    tracing::debug!(changes = changes.len(), "published");
                    for change in changes {
                        pending.published(change, at);
                    }
                }
            }
            changed = view.changed() => {
                changed.context("the agent's watcher stopped")?;
                let at = Instant::now();
                let view = view.borrow_and_update();
                let before = pending.len();
                pending.check(at, |c| {
                    view.has_endpoint(&c1_name, IpAddr::V4(shape.pod_ip(c.pod, c.generation)))
                });
                tracing::debug!(seen = before - pending.len(), "view changed");
            }
            () = tokio::time::sleep_until(end + GRACE) => break,
        }
        if Instant::now() >= end && pending.is_empty() {
            break;
        }
    }
    Ok(pending.finish(rate))
}
