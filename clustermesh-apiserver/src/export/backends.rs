//! A global service's local backends, read from its EndpointSlices.
//!
//! Conditions follow the EndpointSlice API: a nil `ready` means ready, a nil `serving`
//! means the same as `ready`, and a nil `terminating` means not terminating.
//!
//! **Duplicate IPs.** The same address can sit in two slices of one service while the
//! EndpointSlice controller moves it, or when slices group different port sets. We keep
//! one backend per IP (peers refuse duplicates) and merge like kube-proxy does, which
//! prefers the ready copy: the state, node and zone come from the copy ranked best by
//! (ready, serving, not terminating), ties going to the first copy in slice-name order;
//! the ports are the union of every copy's ports, in first-seen order. So an address
//! that is ready anywhere is ready, and no port it serves is lost.

use std::collections::BTreeMap;
use std::net::IpAddr;

use clustermesh_proto::{Backend, BackendPort, pb};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};

use super::{ObjectKind, Warning};
use crate::source::{ClusterObjects, ObjectRef};

/// The label tying an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The IP EndpointSlices of each service, by (namespace, service name), in slice-name
/// order. Built once per export so finding a service's slices does not scan them all.
pub(super) type SliceIndex<'a> =
    BTreeMap<(&'a str, &'a str), Vec<(&'a ObjectRef, &'a EndpointSlice)>>;

pub(super) fn index(objects: &ClusterObjects) -> SliceIndex<'_> {
    let mut index = SliceIndex::new();
    for (key, slice) in &objects.endpoint_slices {
        // FQDN slices name hosts, not addresses we can load-balance to.
        if !matches!(slice.address_type.as_str(), "IPv4" | "IPv6") {
            continue;
        }
        let service = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL));
        if let Some(service) = service {
            let slot = (key.namespace.as_str(), service.as_str());
            index.entry(slot).or_default().push((key, slice));
        }
    }
    index
}

/// The backends of the service `svc`, sorted by IP, at most one per IP.
pub(super) fn for_service(
    svc: &ObjectRef,
    index: &SliceIndex<'_>,
    warnings: &mut Vec<Warning>,
) -> Vec<pb::Backend> {
    let mut by_ip: BTreeMap<IpAddr, (Backend, Vec<BackendPort>)> = BTreeMap::new();
    let slices = index
        .get(&(svc.namespace.as_str(), svc.name.as_str()))
        .map(Vec::as_slice)
        .unwrap_or_default();
    for &(key, slice) in slices {
        let mut note =
            |message: String| warnings.push(Warning::new(ObjectKind::EndpointSlice, key, message));
        let ports = ports(slice, &mut note);
        for endpoint in &slice.endpoints {
            for address in &endpoint.addresses {
                let Some(copy) = backend(address, endpoint, &ports, &mut note) else {
                    continue;
                };
                merge(&mut by_ip, copy);
            }
        }
    }
    by_ip
        .into_values()
        .map(|(mut backend, ports)| {
            backend.ports = ports;
            pb::Backend::from(backend)
        })
        .collect()
}

/// Kubernetes' protocol spelling, defaulting to TCP as the API server does.
pub(super) fn protocol(value: Option<&str>) -> i32 {
    let p = match value {
        None | Some("TCP") => pb::Protocol::Tcp,
        Some("UDP") => pb::Protocol::Udp,
        Some("SCTP") => pb::Protocol::Sctp,
        // Unspecified is refused by validation, which names the field.
        Some(_) => pb::Protocol::Unspecified,
    };
    p.into()
}

fn ports(slice: &EndpointSlice, note: &mut impl FnMut(String)) -> Vec<BackendPort> {
    let mut out = Vec::new();
    for (i, p) in slice.ports.iter().flatten().enumerate() {
        // A nil port means "all ports", which a VIP:port DNAT cannot express.
        let Some(port) = p.port else { continue };
        let msg = pb::BackendPort {
            name: p.name.clone().unwrap_or_default(),
            port: u32::try_from(port).unwrap_or(0),
            protocol: protocol(p.protocol.as_deref()),
        };
        match BackendPort::try_from(msg) {
            Ok(port) => out.push(port),
            Err(e) => note(format!("ports[{i}] ignored: {e}")),
        }
    }
    out
}

fn backend(
    address: &str,
    endpoint: &Endpoint,
    ports: &[BackendPort],
    note: &mut impl FnMut(String),
) -> Option<Backend> {
    let conditions = endpoint.conditions.as_ref();
    let ready = conditions.and_then(|c| c.ready).unwrap_or(true);
    let msg = pb::Backend {
        ip: address.to_owned(),
        ports: ports.iter().cloned().map(Into::into).collect(),
        node: endpoint.node_name.clone().unwrap_or_default(),
        zone: endpoint.zone.clone().unwrap_or_default(),
        ready,
        serving: conditions.and_then(|c| c.serving).unwrap_or(ready),
        terminating: conditions.and_then(|c| c.terminating).unwrap_or(false),
    };
    match Backend::try_from(msg) {
        Ok(b) => Some(b),
        Err(e) => {
            note(format!("endpoint {address:?} ignored: {e}"));
            None
        }
    }
}

fn rank(b: &Backend) -> (bool, bool, bool) {
    (b.ready, b.serving, !b.terminating)
}

fn merge(by_ip: &mut BTreeMap<IpAddr, (Backend, Vec<BackendPort>)>, copy: Backend) {
    match by_ip.get_mut(&copy.ip) {
        None => {
            let ports = copy.ports.clone();
            by_ip.insert(copy.ip, (copy, ports));
        }
        Some((best, ports)) => {
            for port in &copy.ports {
                if !ports.contains(port) {
                    ports.push(port.clone());
                }
            }
            if rank(&copy) > rank(best) {
                *best = copy;
            }
        }
    }
}

#[cfg(test)]
mod tests;
