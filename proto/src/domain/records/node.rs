use std::net::IpAddr;

use crate::{
    ClusterName, DnsSubdomain, ValidationError, WireGuardPeerInfo,
    domain::{
        Cidr,
        cidr::parse_cidr_list,
        ip::{parse_ip_list, to_strings},
        labels::parse_zone,
    },
    error::ResultExt,
    pb,
};

/// A node and how to reach its pods, exported under `<cluster>/nodes/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub cluster: ClusterName,
    pub name: DnsSubdomain,
    pub underlay_addresses: Vec<IpAddr>,
    /// Canonical and pairwise disjoint.
    pub pod_cidrs: Vec<Cidr>,
    pub zone: Option<String>,
    /// `None` until the node's agent has registered.
    pub wireguard: Option<WireGuardPeerInfo>,
}

impl TryFrom<pb::Node> for Node {
    type Error = ValidationError;

    fn try_from(msg: pb::Node) -> Result<Self, Self::Error> {
        let cluster = ClusterName::new(msg.cluster).at("cluster").at("node")?;
        let name = DnsSubdomain::new(msg.name).at("name").at("node")?;
        let at = || format!("node {name:?}");
        let underlay_addresses =
            parse_ip_list("underlay_addresses", &msg.underlay_addresses).at_with(at)?;
        let pod_cidrs = parse_cidr_list("pod_cidrs", &msg.pod_cidrs).at_with(at)?;
        let zone = parse_zone(msg.zone).at("zone").at_with(at)?;
        let wireguard = msg
            .wireguard
            .map(WireGuardPeerInfo::try_from)
            .transpose()
            .at("wireguard")
            .at_with(at)?;
        Ok(Self {
            cluster,
            name,
            underlay_addresses,
            pod_cidrs,
            zone,
            wireguard,
        })
    }
}

impl From<Node> for pb::Node {
    fn from(n: Node) -> Self {
        Self {
            cluster: n.cluster.into(),
            name: n.name.into(),
            underlay_addresses: to_strings(&n.underlay_addresses),
            pod_cidrs: to_strings(&n.pod_cidrs),
            zone: n.zone.unwrap_or_default(),
            wireguard: n.wireguard.map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests;
