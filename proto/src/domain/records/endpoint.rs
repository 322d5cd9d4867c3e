use std::net::IpAddr;

mod encode;

pub use encode::EndpointParts;

use crate::{
    ClusterName, DnsLabel, DnsSubdomain, IdentityId, ValidationError, domain::ip::parse_ip,
    error::ResultExt, pb,
};

/// A pod IP and its identity, exported under `<cluster>/endpoints/<ip>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub cluster: ClusterName,
    pub ip: IpAddr,
    pub identity: IdentityId,
    pub node: DnsSubdomain,
    pub namespace: DnsLabel,
    pub pod: DnsSubdomain,
}

impl TryFrom<pb::Endpoint> for Endpoint {
    type Error = ValidationError;

    fn try_from(msg: pb::Endpoint) -> Result<Self, Self::Error> {
        let cluster = ClusterName::new(msg.cluster).at("cluster").at("endpoint")?;
        let ip = parse_ip(&msg.ip).at("ip").at("endpoint")?;
        let at = || format!("endpoint {ip}");
        Ok(Self {
            cluster,
            ip,
            identity: IdentityId::try_from(msg.identity)
                .at("identity")
                .at_with(at)?,
            node: DnsSubdomain::new(msg.node).at("node").at_with(at)?,
            namespace: DnsLabel::new(msg.namespace).at("namespace").at_with(at)?,
            pod: DnsSubdomain::new(msg.pod).at("pod").at_with(at)?,
        })
    }
}

impl From<Endpoint> for pb::Endpoint {
    fn from(e: Endpoint) -> Self {
        Self {
            cluster: e.cluster.into(),
            ip: e.ip.to_string(),
            identity: e.identity.into(),
            node: e.node.into(),
            namespace: e.namespace.into(),
            pod: e.pod.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::fixtures;

    #[test]
    fn roundtrip_v4_and_v6() {
        for ip in ["10.1.0.7", "fd00:1::7"] {
            let msg = pb::Endpoint {
                ip: ip.into(),
                ..fixtures::endpoint()
            };
            let domain = Endpoint::try_from(msg.clone()).expect("valid");
            assert_eq!(pb::Endpoint::from(domain.clone()), msg);
            assert_eq!(
                Endpoint::try_from(pb::Endpoint::from(domain.clone())).expect("valid"),
                domain
            );
        }
    }

    #[test]
    fn rejections() {
        fixtures::assert_rejects::<_, Endpoint>(
            fixtures::endpoint,
            &[
                (
                    |e| e.cluster = "a_b".into(),
                    "endpoint: cluster: invalid cluster name \"a_b\"",
                ),
                (
                    |e| e.ip = "10.1.0.7/32".into(),
                    "endpoint: ip: invalid IP address \"10.1.0.7/32\"",
                ),
                (
                    |e| e.identity = 0,
                    "endpoint 10.1.0.7: identity: invalid identity id 0",
                ),
                (
                    |e| e.node.clear(),
                    "endpoint 10.1.0.7: node: invalid DNS subdomain \"\"",
                ),
                (
                    |e| e.namespace = "a.b".into(),
                    "endpoint 10.1.0.7: namespace: invalid DNS label \"a.b\"",
                ),
                (
                    |e| e.pod = "web/1".into(),
                    "endpoint 10.1.0.7: pod: invalid DNS subdomain \"web/1\"",
                ),
            ],
        );
    }
}
