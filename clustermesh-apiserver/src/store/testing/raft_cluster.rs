//! A replica set of [`RaftStore`]s on loopback in a temp dir, for tests and benches.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::store::conformance::{HarnessOptions, StoreHarness, TestStore};
use clustermesh_proto::ClusterName;
use clustermesh_proto::tls::{ClusterCa, Role, apiserver_server_name};

use crate::store::raft::{NodeId, RaftStore, RaftStoreConfig, RaftStoreError, RaftTls, StartMode};

const LEADER_TIMEOUT: Duration = Duration::from_secs(20);
const CERT_VALIDITY: Duration = Duration::from_secs(24 * 3600);

pub struct RaftCluster {
    dir: tempfile::TempDir,
    ca: ClusterCa,
    configs: BTreeMap<NodeId, RaftStoreConfig>,
    nodes: BTreeMap<NodeId, Arc<RaftStore>>,
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl RaftCluster {
    /// Starts `size` replicas, each configured by `tweak`, and waits for a leader.
    pub async fn start(size: usize, tweak: impl Fn(&mut RaftStoreConfig)) -> Result<Self, String> {
        let mut last_error = String::new();
        // A port picked free can be taken before the replica binds it: retry afresh.
        for _ in 0..3 {
            match Self::try_start(size, &tweak).await {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    async fn try_start(size: usize, tweak: &impl Fn(&mut RaftStoreConfig)) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let cluster: ClusterName = "store-test".parse().map_err(|e| format!("{e}"))?;
        let ca = ClusterCa::generate(&cluster).map_err(|e| format!("test CA: {e}"))?;
        let mut peers = BTreeMap::new();
        for id in 1..=size as NodeId {
            peers.insert(id, SocketAddr::from(([127, 0, 0, 1], free_port()?)));
        }
        let mut configs = BTreeMap::new();
        for id in peers.keys() {
            let cert = ca
                .issue(Role::Server, &format!("replica-{id}"), &[], CERT_VALIDITY)
                .map_err(|e| format!("replica certificate: {e}"))?;
            let tls = RaftTls {
                ca_pem: ca.cert_pem().to_owned(),
                cert_pem: cert.cert_pem,
                key_pem: cert.key_pem,
                server_name: apiserver_server_name(&cluster),
            };
            let data_dir = dir.path().join(format!("node-{id}"));
            let mut config = RaftStoreConfig::new(*id, peers.clone(), data_dir, tls);
            tweak(&mut config);
            configs.insert(*id, config);
        }
        let mut cluster = RaftCluster {
            dir,
            ca,
            configs,
            nodes: BTreeMap::new(),
        };
        for id in peers.keys() {
            cluster
                .start_node(*id, StartMode::Bootstrap)
                .await
                .map_err(|e| e.to_string())?;
        }
        cluster.leader().await?;
        Ok(cluster)
    }

    pub async fn start_node(
        &mut self,
        id: NodeId,
        mode: StartMode,
    ) -> Result<Arc<RaftStore>, RaftStoreError> {
        let config = self
            .configs
            .get(&id)
            .cloned()
            .ok_or(RaftStoreError::NotInPeers(id))?;
        let store = Arc::new(RaftStore::start(config, mode).await?);
        self.nodes.insert(id, store.clone());
        Ok(store)
    }

    /// Stops a replica as a crash would, as far as its peers can tell: it stops serving
    /// and stops raft. Its data directory stays.
    pub async fn stop_node(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.remove(&id) {
            node.shutdown().await;
        }
    }

    /// The replica set's CA, to mint certificates for tests of the raft port itself.
    pub fn ca(&self) -> &ClusterCa {
        &self.ca
    }

    /// The address replica `id`'s raft service listens on.
    pub fn raft_addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.configs.get(&id).and_then(|c| c.listen_addr().ok())
    }

    pub fn data_dir(&self, id: NodeId) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    pub fn node(&self, id: NodeId) -> Option<Arc<RaftStore>> {
        self.nodes.get(&id).cloned()
    }

    pub fn running(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The leader every running replica agrees on, once they do.
    pub async fn leader(&self) -> Result<NodeId, String> {
        let deadline = tokio::time::Instant::now() + LEADER_TIMEOUT;
        loop {
            let mut seen = Vec::new();
            for node in self.nodes.values() {
                seen.push(node.metrics().borrow().current_leader);
            }
            if let Some(Some(leader)) = seen.first()
                && seen.iter().all(|l| *l == Some(*leader))
                && self.nodes.get(leader).is_some_and(|n| n.is_leader())
            {
                return Ok(*leader);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "replicas did not agree on a leader within {LEADER_TIMEOUT:?}: {seen:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A running replica that is not the leader (the leader itself in a set of one).
    pub async fn follower(&self) -> Result<Arc<RaftStore>, String> {
        let leader = self.leader().await?;
        self.nodes
            .iter()
            .find(|(id, _)| **id != leader)
            .or_else(|| self.nodes.iter().next())
            .map(|(_, n)| n.clone())
            .ok_or_else(|| "no replica running".into())
    }
}

/// Conformance harness: a fresh replica set per case. With three replicas the store
/// under test is a follower, so every write is forwarded and every read uses read-index.
pub struct RaftHarness {
    pub replicas: usize,
}

impl RaftHarness {
    pub fn single() -> Self {
        RaftHarness { replicas: 1 }
    }

    pub fn three_replicas() -> Self {
        RaftHarness { replicas: 3 }
    }
}

#[async_trait]
impl StoreHarness for RaftHarness {
    async fn start(&self, options: HarnessOptions) -> Result<TestStore, String> {
        let cluster = RaftCluster::start(self.replicas, |c| {
            c.watch_buffer_events = options.watch_buffer_events
        })
        .await?;
        let store = cluster.follower().await?;
        Ok(TestStore {
            store,
            guard: Box::new(cluster),
        })
    }
}
