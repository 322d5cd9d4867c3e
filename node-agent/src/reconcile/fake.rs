//! A dataplane in memory that records every call, for testing the agent without
//! devices; it also "programs" what it is told, so a second reconcile sees it.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use clustermesh_proto::{Cidr, WireGuardKey};

use super::Dataplane;
use crate::exec::{ExecError, Flows, LostBackends, Routes, ServiceUpdate, Services, Tunnels};
use crate::plan::{PeerSpec, ServiceBackends, ServiceFrontend};

#[derive(Default)]
pub struct Recording {
    pub calls: Mutex<Vec<String>>,
    peers: Mutex<BTreeMap<WireGuardKey, PeerSpec>>,
    routes: Mutex<BTreeSet<Cidr>>,
    services: Mutex<BTreeMap<ServiceFrontend, ServiceBackends>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recording {
    pub fn dataplane(self: &Arc<Self>) -> Dataplane {
        Dataplane {
            tunnels: self.clone(),
            routes: self.clone(),
            services: self.clone(),
            flows: self.clone(),
        }
    }

    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.calls))
    }

    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }
}

#[async_trait]
impl Tunnels for Recording {
    async fn observe(&self) -> Result<BTreeMap<WireGuardKey, PeerSpec>, ExecError> {
        Ok(lock(&self.peers).clone())
    }
    async fn set_peer(&self, key: &WireGuardKey, peer: &PeerSpec) -> Result<(), ExecError> {
        self.record(format!("set peer {}/{}", peer.cluster, peer.node));
        lock(&self.peers).insert(*key, peer.clone());
        Ok(())
    }
    async fn remove_peer(&self, key: &WireGuardKey) -> Result<(), ExecError> {
        let removed = lock(&self.peers).remove(key);
        let name = removed.map_or("?".to_owned(), |p| format!("{}/{}", p.cluster, p.node));
        self.record(format!("remove peer {name}"));
        Ok(())
    }
    async fn handshake_ages(
        &self,
    ) -> Result<BTreeMap<WireGuardKey, Option<std::time::Duration>>, ExecError> {
        Ok(lock(&self.peers).keys().map(|key| (*key, None)).collect())
    }
}

#[async_trait]
impl Routes for Recording {
    async fn observe(&self) -> Result<BTreeSet<Cidr>, ExecError> {
        Ok(lock(&self.routes).clone())
    }
    async fn add(&self, cidr: &Cidr) -> Result<(), ExecError> {
        self.record(format!("add route {cidr}"));
        lock(&self.routes).insert(*cidr);
        Ok(())
    }
    async fn remove(&self, cidr: &Cidr) -> Result<(), ExecError> {
        self.record(format!("remove route {cidr}"));
        lock(&self.routes).remove(cidr);
        Ok(())
    }
}

#[async_trait]
impl Services for Recording {
    async fn observe(&self) -> Result<BTreeMap<ServiceFrontend, ServiceBackends>, ExecError> {
        Ok(lock(&self.services).clone())
    }
    async fn apply(&self, update: &ServiceUpdate) -> Result<(), ExecError> {
        let mut services = lock(&self.services);
        let mut parts = Vec::new();
        for (frontend, backends) in &update.set {
            parts.push(format!(
                "set {}:{} -> {}",
                frontend.vip,
                frontend.port,
                backends.backends.len()
            ));
            services.insert(*frontend, backends.clone());
        }
        for frontend in &update.remove {
            parts.push(format!("remove {}:{}", frontend.vip, frontend.port));
            services.remove(frontend);
        }
        drop(services);
        self.record(format!("services [{}]", parts.join(", ")));
        Ok(())
    }
}

#[async_trait]
impl Flows for Recording {
    async fn forget(&self, lost: &LostBackends) -> Result<usize, ExecError> {
        for (frontend, backends) in lost {
            self.record(format!(
                "forget flows {}:{} -> {backends:?}",
                frontend.vip, frontend.port
            ));
        }
        Ok(0)
    }
}
