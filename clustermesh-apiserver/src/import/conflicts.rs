//! Which clusters may be connected: names and ids unique across the mesh, pod CIDRs
//! disjoint. Identities carry the cluster id and routes are keyed by pod CIDR, so a
//! clash would silently send traffic to the wrong cluster.

use clustermesh_proto::{Cluster, first_overlap};

/// Why `candidate` cannot join alongside `own` and the `connected` peers; a peer being
/// re-installed under the same name is not compared with its old self.
pub fn check<'a>(
    own: &Cluster,
    connected: impl IntoIterator<Item = &'a Cluster>,
    candidate: &Cluster,
) -> Result<(), String> {
    let name = &candidate.name;
    if *name == own.name {
        return Err(format!(
            "peer cluster name {name} is this cluster's own name"
        ));
    }
    if candidate.id == own.id {
        return Err(format!(
            "peer {name} has cluster id {}, which is this cluster's own id",
            candidate.id
        ));
    }
    if let Some((theirs, ours)) = first_overlap(&candidate.pod_cidrs, &own.pod_cidrs) {
        return Err(format!(
            "pod CIDR {theirs} of peer {name} overlaps {ours} of this cluster {}",
            own.name
        ));
    }
    for other in connected.into_iter().filter(|c| c.name != *name) {
        if other.id == candidate.id {
            return Err(format!(
                "peer {name} has cluster id {}, already used by connected peer {}",
                candidate.id, other.name
            ));
        }
        if let Some((theirs, ours)) = first_overlap(&candidate.pod_cidrs, &other.pod_cidrs) {
            return Err(format!(
                "pod CIDR {theirs} of peer {name} overlaps {ours} of connected peer {}",
                other.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clustermesh_proto::pb;

    use super::*;

    fn cluster(name: &str, id: u32, cidrs: &[&str]) -> Cluster {
        Cluster::try_from(pb::Cluster {
            name: name.into(),
            id,
            pod_cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
            advertise_address: "127.0.0.1:1".into(),
        })
        .expect("valid cluster")
    }

    #[test]
    fn accepts_distinct_clusters_and_reinstalls() {
        let own = cluster("a", 1, &["10.1.0.0/16"]);
        let b = cluster("b", 2, &["10.2.0.0/16"]);
        assert_eq!(
            check(&own, [&b], &cluster("c", 3, &["10.3.0.0/16"])),
            Ok(())
        );
        assert_eq!(check(&own, [&b], &b), Ok(()), "same peer again");
    }

    #[test]
    fn refusals_name_the_clash() {
        let own = cluster("a", 1, &["10.1.0.0/16"]);
        let b = cluster("b", 2, &["10.2.0.0/16"]);
        let cases = [
            (cluster("a", 9, &[]), "own name"),
            (cluster("c", 1, &[]), "this cluster's own id"),
            (cluster("c", 2, &[]), "already used by connected peer b"),
            (
                cluster("c", 3, &["10.1.128.0/17"]),
                "overlaps 10.1.0.0/16 of this cluster a",
            ),
            (
                cluster("c", 3, &["10.0.0.0/8"]),
                "overlaps 10.1.0.0/16 of this cluster a",
            ),
            (
                cluster("c", 3, &["10.2.3.0/24"]),
                "overlaps 10.2.0.0/16 of connected peer b",
            ),
        ];
        for (candidate, expected) in cases {
            let err = check(&own, [&b], &candidate).expect_err(expected);
            assert!(err.contains(expected), "{expected:?} not in {err:?}");
        }
    }
}
