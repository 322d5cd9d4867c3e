//! Endpoints: pod IP → identity and node, and the identities they reference.
//!
//! Only pods that own their IP are exported: running, not on the host network (a
//! host-network pod's IP is its node's, which must not be mapped to the pod's identity),
//! and with an IP assigned. Dual-stack pods export one endpoint per IP.
//!
//! The rules for one pod are here ([`claim`], [`addresses`], [`endpoint`]); how pods
//! compete for an IP
//! and which identities end up exported is [`EndpointIndex`], which the exporter keeps
//! across rounds and [`export`] builds from scratch.

mod index;

use clustermesh_proto::{ClusterName, Endpoint, Identity, IdentityId, pb};
use k8s_openapi::api::core::v1::Pod;

use super::Warning;
use super::identities::{LabelSet, label_set};
use crate::source::{ClusterObjects, ObjectRef};

pub use index::{EndpointIndex, RecordChange};

/// Whether one pod exports endpoints, and under which label set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodClaim {
    /// Not running, on the host network, or without an IP: nothing, and rightly so.
    Nothing,
    /// Labels that cannot form an identity: nothing, with this reason.
    BadLabels(String),
    /// Its [`addresses`], under the identity of this set.
    Addresses(LabelSet),
}

/// The claim of the pod at `key`.
pub fn claim(key: &ObjectRef, pod: &Pod) -> PodClaim {
    if !owns_its_ips(pod) {
        return PodClaim::Nothing;
    }
    match label_set(&key.namespace, pod) {
        Ok(set) => PodClaim::Addresses(set),
        Err(e) => PodClaim::BadLabels(e.to_string()),
    }
}

/// Running, not on the host network, with an IP: a pod whose IPs are its own.
pub fn owns_its_ips(pod: &Pod) -> bool {
    owned_ips(pod).is_some()
}

/// [`addresses`] of a pod that [`owns_its_ips`], `None` of any other: one reading of
/// the pod for both.
pub fn owned_ips(pod: &Pod) -> Option<(&str, Vec<&str>)> {
    let host_network = pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
    let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
    if !running || host_network {
        return None;
    }
    Some(addresses(pod)).filter(|(_, ips)| !ips.is_empty())
}

/// The node a pod runs on (empty if unscheduled) and its IPs.
pub fn addresses(pod: &Pod) -> (&str, Vec<&str>) {
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    (node.unwrap_or_default(), pod_ips(pod))
}

/// The endpoint of one of a claim's addresses, validated as a peer will validate it.
pub fn endpoint(
    cluster: &ClusterName,
    key: &ObjectRef,
    node: &str,
    ip: &str,
    id: IdentityId,
) -> Result<Endpoint, String> {
    let msg = pb::Endpoint {
        cluster: cluster.to_string(),
        ip: ip.to_owned(),
        identity: id.get(),
        node: node.to_owned(),
        namespace: key.namespace.clone(),
        pod: key.name.clone(),
    };
    Endpoint::try_from(msg).map_err(|e| format!("IP {ip:?} not exported: {e}"))
}

/// `status.podIPs`, or the older single `status.podIP` when the list is empty.
fn pod_ips(pod: &Pod) -> Vec<&str> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let listed: Vec<&str> = status
        .pod_ips
        .iter()
        .flatten()
        .map(|p| p.ip.as_str())
        .filter(|ip| !ip.is_empty())
        .collect();
    match listed.is_empty() {
        true => status
            .pod_ip
            .as_deref()
            .filter(|ip| !ip.is_empty())
            .into_iter()
            .collect(),
        false => listed,
    }
}

/// The identities in use and the endpoints, sorted by id and by IP.
///
/// Two running pods claiming one IP (a stale status during a restart) cannot both be
/// right; the first in namespace/name order is kept and the other reported.
pub fn export(
    cluster: &ClusterName,
    objects: &ClusterObjects,
    resolve: &impl Fn(&LabelSet) -> Option<IdentityId>,
    warnings: &mut Vec<Warning>,
) -> (Vec<Identity>, Vec<Endpoint>) {
    let mut index = EndpointIndex::new(cluster.clone());
    index.observe(&objects.pods);
    // From scratch, every change is an addition the caller reads below in full.
    drop(index.resolve(resolve));
    warnings.extend(index.warnings());
    (index.identities(), index.endpoints())
}

#[cfg(test)]
mod tests;
