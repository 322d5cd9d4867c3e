use std::net::IpAddr;

use super::BackendPort;
use crate::{
    DnsSubdomain, ValidationError,
    domain::{ip::parse_ip, labels::parse_zone},
    error::ResultExt,
    pb,
};

/// One address behind a global service, with its EndpointSlice conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub ip: IpAddr,
    pub ports: Vec<BackendPort>,
    pub node: Option<DnsSubdomain>,
    pub zone: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
}

impl TryFrom<pb::Backend> for Backend {
    type Error = ValidationError;

    fn try_from(msg: pb::Backend) -> Result<Self, Self::Error> {
        let ip = parse_ip(&msg.ip).at("ip")?;
        let ports = msg
            .ports
            .into_iter()
            .enumerate()
            .map(|(i, p)| BackendPort::try_from(p).at_with(|| format!("ports[{i}]")))
            .collect::<Result<_, _>>()?;
        let node = if msg.node.is_empty() {
            None
        } else {
            Some(DnsSubdomain::new(msg.node).at("node")?)
        };
        Ok(Self {
            ip,
            ports,
            node,
            zone: parse_zone(msg.zone).at("zone")?,
            ready: msg.ready,
            serving: msg.serving,
            terminating: msg.terminating,
        })
    }
}

impl From<Backend> for pb::Backend {
    fn from(b: Backend) -> Self {
        Self {
            ip: b.ip.to_string(),
            ports: b.ports.into_iter().map(Into::into).collect(),
            node: b.node.map(Into::into).unwrap_or_default(),
            zone: b.zone.unwrap_or_default(),
            ready: b.ready,
            serving: b.serving,
            terminating: b.terminating,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::fixtures;

    #[test]
    fn roundtrip_full_and_minimal() {
        let minimal = pb::Backend {
            ip: "fd00:1::9".into(),
            ..Default::default()
        };
        for msg in [fixtures::backend(), minimal] {
            let domain = Backend::try_from(msg.clone()).expect("valid");
            assert_eq!(pb::Backend::from(domain), msg);
        }
    }

    #[test]
    fn rejections() {
        fixtures::assert_rejects::<_, Backend>(
            fixtures::backend,
            &[
                (|b| b.ip.clear(), "ip: invalid IP address \"\""),
                (
                    |b| b.ports[0].port = 0,
                    "ports[0]: port: port 0 out of range 1..=65535",
                ),
                (
                    |b| b.ports[0].protocol = 0,
                    "ports[0]: protocol: protocol must be specified",
                ),
                (
                    |b| b.node = "Node_1".into(),
                    "node: invalid DNS subdomain \"Node_1\"",
                ),
                (|b| b.zone = "-a".into(), "zone: invalid zone \"-a\""),
            ],
        );
    }
}
