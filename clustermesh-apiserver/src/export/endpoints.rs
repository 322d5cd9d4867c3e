//! Endpoints: pod IP → identity and node, and the identities they reference.
//!
//! Only pods that own their IP are exported: running, not on the host network (a
//! host-network pod's IP is its node's, which must not be mapped to the pod's identity),
//! and with an IP assigned. Dual-stack pods export one endpoint per IP.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use clustermesh_proto::{ClusterName, Endpoint, Identity, IdentityId, pb};
use k8s_openapi::api::core::v1::Pod;

use super::identities::{LabelSet, label_set};
use super::{ObjectKind, Warning};
use crate::source::{ClusterObjects, ObjectRef};

/// The pods that export endpoints, in namespace/name order.
pub fn eligible_pods(objects: &ClusterObjects) -> impl Iterator<Item = (&ObjectRef, &Pod)> {
    objects.pods.iter().filter(|(_, pod)| {
        let host_network = pod.spec.as_ref().and_then(|s| s.host_network) == Some(true);
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        running && !host_network && !pod_ips(pod).is_empty()
    })
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
    let mut sets: BTreeMap<IdentityId, LabelSet> = BTreeMap::new();
    let mut endpoints: BTreeMap<IpAddr, Endpoint> = BTreeMap::new();
    for (key, pod) in eligible_pods(objects) {
        let mut note = |message: String| warnings.push(Warning::new(ObjectKind::Pod, key, message));
        let set = match label_set(&key.namespace, pod) {
            Ok(set) => set,
            Err(e) => {
                note(format!("not exported: labels: {e}"));
                continue;
            }
        };
        let Some(id) = resolve(&set) else {
            note(format!("not exported yet: no identity allocated for {set}"));
            continue;
        };
        match sets.entry(id) {
            Entry::Occupied(e) if *e.get() != set => {
                note(format!(
                    "not exported: identity {id} is already used by {}",
                    e.get()
                ));
                continue;
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(slot) => drop(slot.insert(set)),
        }
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        for ip in pod_ips(pod) {
            let msg = pb::Endpoint {
                cluster: cluster.to_string(),
                ip: ip.to_owned(),
                identity: id.get(),
                node: node.clone(),
                namespace: key.namespace.clone(),
                pod: key.name.clone(),
            };
            let endpoint = match Endpoint::try_from(msg) {
                Ok(endpoint) => endpoint,
                Err(e) => {
                    note(format!("IP {ip:?} not exported: {e}"));
                    continue;
                }
            };
            match endpoints.entry(endpoint.ip) {
                Entry::Occupied(e) => note(format!(
                    "IP {ip} not exported: already claimed by pod {}/{}",
                    e.get().namespace,
                    e.get().pod
                )),
                Entry::Vacant(slot) => drop(slot.insert(endpoint)),
            }
        }
    }
    // Only identities some exported endpoint refers to. Building one cannot fail: its
    // parts were validated as a `LabelSet`, a `ClusterName` and an `IdentityId`.
    let used: BTreeSet<IdentityId> = endpoints.values().map(|e| e.identity).collect();
    let identities = used
        .into_iter()
        .filter_map(|id| identity(cluster, id, sets.get(&id)?).ok())
        .collect();
    (identities, endpoints.into_values().collect())
}

fn identity(
    cluster: &ClusterName,
    id: IdentityId,
    set: &LabelSet,
) -> Result<Identity, clustermesh_proto::ValidationError> {
    Identity::try_from(pb::Identity {
        cluster: cluster.to_string(),
        id: id.get(),
        namespace: set.namespace().to_string(),
        labels: set.labels().clone(),
    })
}

#[cfg(test)]
mod tests;
