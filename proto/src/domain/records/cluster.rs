use crate::{
    ClusterId, ClusterName, HostPort, ValidationError,
    domain::{Cidr, cidr::parse_cidr_list, ip::to_strings},
    error::ResultExt,
    pb,
};

/// A member of the mesh, as exported under `<name>/clusters/<name>` and as installed
/// as a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: ClusterName,
    pub id: ClusterId,
    /// Canonical and pairwise disjoint.
    pub pod_cidrs: Vec<Cidr>,
    pub advertise_address: HostPort,
}

impl TryFrom<pb::Cluster> for Cluster {
    type Error = ValidationError;

    fn try_from(msg: pb::Cluster) -> Result<Self, Self::Error> {
        let name = ClusterName::new(msg.name).at("name").at("cluster")?;
        let at = || format!("cluster {name:?}");
        let id = ClusterId::try_from(msg.id).at("id").at_with(at)?;
        let pod_cidrs = parse_cidr_list("pod_cidrs", &msg.pod_cidrs).at_with(at)?;
        let advertise_address = msg
            .advertise_address
            .parse()
            .at("advertise_address")
            .at_with(at)?;
        Ok(Self {
            name,
            id,
            pod_cidrs,
            advertise_address,
        })
    }
}

impl From<Cluster> for pb::Cluster {
    fn from(c: Cluster) -> Self {
        Self {
            name: c.name.into(),
            id: c.id.into(),
            pod_cidrs: to_strings(&c.pod_cidrs),
            advertise_address: c.advertise_address.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::fixtures;

    #[test]
    fn roundtrip() {
        let domain = Cluster::try_from(fixtures::cluster()).expect("valid");
        assert_eq!(pb::Cluster::from(domain.clone()), fixtures::cluster());
        assert_eq!(
            Cluster::try_from(pb::Cluster::from(domain.clone())).expect("valid"),
            domain
        );
    }

    #[test]
    fn rejections() {
        fixtures::assert_rejects::<_, Cluster>(
            fixtures::cluster,
            &[
                (
                    |c| c.name = "Bad".into(),
                    "cluster: name: invalid cluster name \"Bad\"",
                ),
                (
                    |c| c.id = 0,
                    "cluster \"c1\": id: cluster id 0 out of range 1..=255",
                ),
                (|c| c.id = 256, "cluster \"c1\": id: cluster id 256"),
                (
                    |c| c.pod_cidrs[1] = "10.2.0.5/16".into(),
                    "cluster \"c1\": pod_cidrs[1]: CIDR \"10.2.0.5/16\" has host bits set (did you mean 10.2.0.0/16?)",
                ),
                (
                    |c| c.pod_cidrs.push("10.1.128.0/17".into()),
                    "cluster \"c1\": pod_cidrs[2]: CIDR 10.1.128.0/17 overlaps 10.1.0.0/16 at pod_cidrs[0]",
                ),
                (
                    |c| c.advertise_address.clear(),
                    "cluster \"c1\": advertise_address: invalid address",
                ),
            ],
        );
    }
}
