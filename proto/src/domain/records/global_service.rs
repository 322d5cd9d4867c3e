use std::{collections::BTreeSet, net::IpAddr};

use super::{Affinity, Backend, ServicePort, ports::parse_service_ports};
use crate::{
    ClusterName, DnsLabel, ValidationError,
    domain::ip::parse_optional_ip,
    error::{ResultExt, ValidationErrorKind},
    pb,
};

/// A Service marked global in one cluster, exported under
/// `<cluster>/services/<namespace>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalService {
    pub cluster: ClusterName,
    pub namespace: DnsLabel,
    pub name: DnsLabel,
    pub ports: Vec<ServicePort>,
    /// `None` for a headless service.
    pub vip: Option<IpAddr>,
    pub affinity: Affinity,
    /// Whether other clusters may use these backends.
    pub shared: bool,
    /// At most one per IP, so load balancing weighs every backend once.
    pub backends: Vec<Backend>,
}

impl TryFrom<pb::GlobalService> for GlobalService {
    type Error = ValidationError;

    fn try_from(msg: pb::GlobalService) -> Result<Self, Self::Error> {
        let cluster = ClusterName::new(msg.cluster).at("cluster").at("service")?;
        let namespace = DnsLabel::new(msg.namespace).at("namespace").at("service")?;
        let name = DnsLabel::new(msg.name).at("name").at("service")?;
        let at = || format!("service \"{namespace}/{name}\"");
        let ports = parse_service_ports(msg.ports).at_with(at)?;
        let vip = parse_optional_ip(&msg.vip).at("vip").at_with(at)?;
        let affinity = Affinity::try_from(msg.affinity)
            .at("affinity")
            .at_with(at)?;
        let backends = parse_backends(msg.backends).at_with(at)?;
        Ok(Self {
            cluster,
            namespace,
            name,
            ports,
            vip,
            affinity,
            shared: msg.shared,
            backends,
        })
    }
}

fn parse_backends(backends: Vec<pb::Backend>) -> Result<Vec<Backend>, ValidationError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(backends.len());
    for (i, msg) in backends.into_iter().enumerate() {
        let at = || format!("backends[{i}]");
        let backend = Backend::try_from(msg).at_with(at)?;
        if !seen.insert(backend.ip) {
            let value = backend.ip.to_string();
            return Err(ValidationErrorKind::Duplicate {
                what: "backend IP",
                value,
            })
            .at_with(at);
        }
        out.push(backend);
    }
    Ok(out)
}

impl From<GlobalService> for pb::GlobalService {
    fn from(s: GlobalService) -> Self {
        Self {
            cluster: s.cluster.into(),
            namespace: s.namespace.into(),
            name: s.name.into(),
            ports: s.ports.into_iter().map(Into::into).collect(),
            vip: s.vip.map(|ip| ip.to_string()).unwrap_or_default(),
            affinity: pb::Affinity::from(s.affinity).into(),
            shared: s.shared,
            backends: s.backends.into_iter().map(Into::into).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
