//! Starting and stopping each store backend under measurement.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use clustermesh_apiserver::store::Store;
use clustermesh_apiserver::store::etcd::EtcdStore;
use clustermesh_apiserver::store::memory::{MemoryStore, MemoryStoreConfig};
use clustermesh_apiserver::store::testing::{EtcdProcess, RaftCluster};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    RaftSingle,
    RaftThree,
    Etcd,
}

impl Backend {
    pub const ALL: [Backend; 4] = [
        Backend::Memory,
        Backend::RaftSingle,
        Backend::RaftThree,
        Backend::Etcd,
    ];

    /// The name in the table, the JSON and the command-line filter.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::RaftSingle => "raft-1",
            Backend::RaftThree => "raft-3",
            Backend::Etcd => "etcd",
        }
    }

    /// A fresh, empty instance: every scenario gets its own, so one scenario's leftover
    /// keys, raft log or compaction work cannot skew the next.
    pub async fn start(self) -> anyhow::Result<Target> {
        match self {
            Backend::Memory => Ok(Target {
                store: Arc::new(MemoryStore::new(MemoryStoreConfig::default())),
                follower: None,
                server: Server::InProcess,
            }),
            Backend::RaftSingle => start_raft(1).await,
            Backend::RaftThree => start_raft(3).await,
            Backend::Etcd => start_etcd().await,
        }
    }
}

pub struct Target {
    /// The replica clients talk to: the raft leader, so writes are not forwarded.
    pub store: Arc<dyn Store>,
    /// A raft follower, to show the cost of forwarding; only with three replicas.
    pub follower: Option<Arc<dyn Store>>,
    server: Server,
}

enum Server {
    InProcess,
    Raft(Box<RaftCluster>),
    Etcd(Box<EtcdProcess>),
}

impl Target {
    /// Stops the backend and waits for it, so its threads do not compete with the next
    /// measurement for this machine's cores.
    pub async fn stop(self) {
        // Clients first, so none is left talking to a server that is going away.
        drop(self.store);
        drop(self.follower);
        match self.server {
            Server::InProcess => {}
            Server::Raft(mut cluster) => {
                for id in cluster.running() {
                    cluster.stop_node(id).await;
                }
            }
            // Dropping kills etcd and waits until it is gone.
            Server::Etcd(etcd) => drop(etcd),
        }
    }
}

async fn start_raft(replicas: usize) -> anyhow::Result<Target> {
    let cluster = RaftCluster::start(replicas, |_| {})
        .await
        .map_err(|err| anyhow!("starting {replicas} raft replicas: {err}"))?;
    let leader = cluster.leader().await.map_err(|err| anyhow!(err))?;
    let store: Arc<dyn Store> = cluster
        .node(leader)
        .with_context(|| format!("leader {leader} is not running"))?;
    let follower: Option<Arc<dyn Store>> = if replicas > 1 {
        Some(cluster.follower().await.map_err(|err| anyhow!(err))?)
    } else {
        None
    };
    Ok(Target {
        store,
        follower,
        server: Server::Raft(Box::new(cluster)),
    })
}

async fn start_etcd() -> anyhow::Result<Target> {
    let etcd = EtcdProcess::start()
        .await
        .map_err(|err| anyhow!("etcd could not start: {err}"))?;
    let store = EtcdStore::connect(etcd.store_config())
        .await
        .with_context(|| format!("connecting to etcd; its stderr: {}", etcd.stderr_tail()))?;
    Ok(Target {
        store: Arc::new(store),
        follower: None,
        server: Server::Etcd(Box::new(etcd)),
    })
}
