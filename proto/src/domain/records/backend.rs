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
        let mut ports: Vec<BackendPort> = msg
            .ports
            .into_iter()
            .enumerate()
            .map(|(i, p)| BackendPort::try_from(p).at_with(|| format!("ports[{i}]")))
            .collect::<Result<_, _>>()?;
        // The collect reuses the decoded vector, which grew by doubling from four: a
        // one-port backend would keep room for four, and an agent holds tens of
        // thousands of backends.
        ports.shrink_to_fit();
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
    fn a_decoded_backend_keeps_no_spare_port_capacity() {
        use prost::Message as _;
        let bytes = fixtures::backend().encode_to_vec();
        let decoded = pb::Backend::decode(bytes.as_slice()).expect("decodes");
        assert!(
            decoded.ports.capacity() > decoded.ports.len(),
            "prost grows by doubling"
        );
        let backend = Backend::try_from(decoded).expect("valid");
        assert_eq!(backend.ports.capacity(), backend.ports.len());
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
