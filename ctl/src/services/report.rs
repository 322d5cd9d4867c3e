//! The services model: ListGlobalServices, validated into domain types, with the
//! selection of [`super::select`] applied per frontend port.

use std::collections::BTreeMap;

use clustermesh_proto::{Affinity, Backend, BackendPort, DnsSubdomain, ServicePort, pb};
use serde::Serialize;

use super::select::{self, ClusterCopy, Decision, Lease};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServicesReport {
    pub context: String,
    /// The cluster whose view this is: "selected" is what its node agents do.
    pub cluster: String,
    pub services: Vec<ServiceReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceReport {
    pub namespace: String,
    pub name: String,
    /// This cluster's VIP; `None` when headless or not defined here.
    pub vip: Option<String>,
    pub ports: Vec<PortReport>,
    pub affinity: String,
    /// Whether this cluster defines the service (has its own copy).
    pub defined_here: bool,
    pub clusters: Vec<ClusterBackendsReport>,
    /// What the node agents program: one entry per VIP port.
    pub frontends: Vec<FrontendReport>,
    /// Why there is no frontend, when there is none.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortReport {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterBackendsReport {
    pub cluster: String,
    pub local: bool,
    pub shared: bool,
    pub reachable: bool,
    pub backends: Vec<BackendReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendReport {
    pub ip: String,
    pub node: Option<String>,
    pub zone: Option<String>,
    pub ports: Vec<PortReport>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    /// "alive", "expired" or "unknown" (another cluster's node); `None` without a node.
    pub node_lease: Option<String>,
    /// Behind at least one frontend port right now.
    pub selected: bool,
    /// Why not, when not selected.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrontendReport {
    pub vip: String,
    pub port: u16,
    pub protocol: String,
    pub backends: Vec<TargetReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetReport {
    pub cluster: String,
    pub ip: String,
    pub port: u16,
}

/// The liveness of this cluster's node leases, by node name (`GetStatus`).
pub type LocalLeases = BTreeMap<String, bool>;

fn port_report(name: Option<&impl ToString>, port: u16, protocol: impl ToString) -> PortReport {
    PortReport {
        name: name.map(ToString::to_string),
        port,
        protocol: protocol.to_string(),
    }
}

fn backend_port(p: &BackendPort) -> PortReport {
    port_report(p.name.as_ref(), p.port.get(), p.protocol)
}

struct OwnedCopy {
    cluster: String,
    shared: bool,
    reachable: bool,
    backends: Vec<Backend>,
}

/// Builds the report of one service as seen from cluster `own`. An invalid field is an
/// error naming it: the apiserver only serves validated records.
pub fn service_report(
    own: &str,
    view: pb::GlobalServiceView,
    leases: &LocalLeases,
) -> Result<ServiceReport, String> {
    let at = format!("service {}/{}", view.namespace, view.name);
    let ports: Vec<ServicePort> = view
        .ports
        .into_iter()
        .map(ServicePort::try_from)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{at}: ports: {e}"))?;
    let affinity = Affinity::try_from(view.affinity).map_err(|e| format!("{at}: {e}"))?;
    let copies: Vec<OwnedCopy> = view
        .clusters
        .into_iter()
        .map(|c| {
            let backends = c
                .backends
                .into_iter()
                .map(Backend::try_from)
                .collect::<Result<_, _>>();
            backends
                .map(|backends| OwnedCopy {
                    cluster: c.cluster,
                    shared: c.shared,
                    reachable: c.reachable,
                    backends,
                })
                .map_err(|e| format!("{at}: backends: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let defined_here = copies.iter().any(|c| c.cluster == own);
    let vip = (!view.vip.is_empty()).then_some(view.vip);
    let lease = |cluster: &str, node: &DnsSubdomain| match cluster == own {
        true => match leases.get(node.as_str()) {
            Some(true) => Lease::Alive,
            _ => Lease::Expired,
        },
        false => Lease::Unknown,
    };
    let borrowed: Vec<ClusterCopy<'_>> = copies
        .iter()
        .map(|c| ClusterCopy {
            cluster: &c.cluster,
            local: c.cluster == own,
            shared: c.shared,
            reachable: c.reachable,
            backends: &c.backends,
        })
        .collect();
    let note = match (defined_here, &vip) {
        (false, _) => Some("not defined in this cluster: no frontend here".to_owned()),
        (true, None) => Some("headless here: clients resolve backends themselves".to_owned()),
        (true, Some(_)) => None,
    };
    let per_port: Vec<Vec<Vec<Decision>>> = match note {
        Some(_) => Vec::new(),
        None => ports
            .iter()
            .map(|p| select::decide(affinity, &borrowed, p, &lease))
            .collect(),
    };
    let frontends = ports
        .iter()
        .zip(&per_port)
        .map(|(port, decisions)| FrontendReport {
            vip: vip.clone().unwrap_or_default(),
            port: port.port.get(),
            protocol: port.protocol.to_string(),
            backends: select::targets(&borrowed, decisions)
                .into_iter()
                .map(|t| TargetReport {
                    cluster: t.cluster,
                    ip: t.ip.to_string(),
                    port: t.port,
                })
                .collect(),
        })
        .collect();
    let clusters = borrowed
        .iter()
        .enumerate()
        .map(|(ci, copy)| ClusterBackendsReport {
            cluster: copy.cluster.to_owned(),
            local: copy.local,
            shared: copy.shared,
            reachable: copy.reachable,
            backends: copy
                .backends
                .iter()
                .enumerate()
                .map(|(bi, b)| {
                    let decisions: Vec<Decision> = per_port.iter().map(|p| p[ci][bi]).collect();
                    backend_report(copy, b, &decisions, affinity, note.as_deref(), &lease)
                })
                .collect(),
        })
        .collect();
    Ok(ServiceReport {
        namespace: view.namespace,
        name: view.name,
        vip,
        ports: ports
            .iter()
            .map(|p| port_report(p.name.as_ref(), p.port.get(), p.protocol))
            .collect(),
        affinity: affinity.to_string(),
        defined_here,
        clusters,
        frontends,
        note,
    })
}

fn backend_report(
    copy: &ClusterCopy<'_>,
    backend: &Backend,
    decisions: &[Decision],
    affinity: Affinity,
    note: Option<&str>,
    lease: &dyn Fn(&str, &DnsSubdomain) -> Lease,
) -> BackendReport {
    let selected = decisions.iter().any(|d| matches!(d, Decision::Selected(_)));
    let reason = match (selected, note, decisions.first()) {
        (true, _, _) => None,
        (false, Some(_), _) => Some("no frontend in this cluster".to_owned()),
        (false, None, Some(d)) => select::reason(*d, affinity),
        (false, None, None) => Some("the service has no ports".to_owned()),
    };
    BackendReport {
        ip: backend.ip.to_string(),
        node: backend.node.as_ref().map(ToString::to_string),
        zone: backend.zone.clone(),
        ports: backend.ports.iter().map(backend_port).collect(),
        ready: backend.ready,
        serving: backend.serving,
        terminating: backend.terminating,
        node_lease: backend.node.as_ref().map(|n| {
            match lease(copy.cluster, n) {
                Lease::Alive => "alive",
                Lease::Expired => "expired",
                Lease::Unknown => "unknown",
            }
            .to_owned()
        }),
        selected,
        reason,
    }
}
