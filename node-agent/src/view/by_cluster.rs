//! One global service's copies, one per cluster.

use clustermesh_proto::{ClusterName, GlobalService};

/// The copies sorted by cluster, in a vector sized to them. A service is in one to a
/// few clusters, and a B-tree leaf has room for eleven: as a `BTreeMap` this cost
/// 1.9 KiB per service, 18.6 MB at 10,000 services (valgrind massif, the agent-memory
/// scenario).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ByCluster(Vec<GlobalService>);

impl ByCluster {
    pub fn get(&self, cluster: &ClusterName) -> Option<&GlobalService> {
        self.position(cluster).ok().map(|i| &self.0[i])
    }

    /// The clusters, in order.
    pub fn keys(&self) -> impl Iterator<Item = &ClusterName> {
        self.0.iter().map(|s| &s.cluster)
    }

    pub fn values(&self) -> impl Iterator<Item = &GlobalService> {
        self.0.iter()
    }

    /// (cluster, its copy), in cluster order.
    pub fn iter(&self) -> impl Iterator<Item = (&ClusterName, &GlobalService)> {
        self.0.iter().map(|s| (&s.cluster, s))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Stores `service` as its cluster's copy unless an equal one is there; returns
    /// whether anything changed.
    pub(super) fn replace(&mut self, service: GlobalService) -> bool {
        match self.position(&service.cluster) {
            Ok(i) if self.0[i] == service => false,
            Ok(i) => {
                self.0[i] = service;
                true
            }
            Err(i) => {
                // One more slot, not the doubling a push would reserve.
                self.0.reserve_exact(1);
                self.0.insert(i, service);
                true
            }
        }
    }

    /// Removes `cluster`'s copy; returns whether there was one.
    pub(super) fn remove(&mut self, cluster: &ClusterName) -> bool {
        match self.position(cluster) {
            Ok(i) => {
                self.0.remove(i);
                self.0.shrink_to_fit();
                true
            }
            Err(_) => false,
        }
    }

    fn position(&self, cluster: &ClusterName) -> Result<usize, usize> {
        self.0.binary_search_by(|s| s.cluster.cmp(cluster))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::service;

    fn copy(cluster: &str, vip: &str) -> GlobalService {
        GlobalService::try_from(service(cluster, vip)).expect("valid service")
    }

    fn name(cluster: &str) -> ClusterName {
        ClusterName::new(cluster).expect("valid name")
    }

    #[test]
    fn copies_stay_in_cluster_order_and_an_equal_copy_is_no_change() {
        let mut copies = ByCluster::default();
        assert!(copies.replace(copy("c", "10.96.0.3")));
        assert!(copies.replace(copy("a", "10.96.0.1")));
        assert!(copies.replace(copy("b", "10.96.0.2")));
        assert!(!copies.replace(copy("b", "10.96.0.2")));
        assert!(copies.replace(copy("b", "10.96.0.22")));
        let clusters: Vec<&str> = copies.keys().map(ClusterName::as_str).collect();
        assert_eq!(clusters, ["a", "b", "c"]);
        assert_eq!(
            copies.get(&name("b")).and_then(|s| s.vip),
            Some("10.96.0.22".parse().expect("ip"))
        );
        assert_eq!(copies.len(), 3);
    }

    #[test]
    fn removing_the_last_copy_leaves_it_empty() {
        let mut copies = ByCluster::default();
        copies.replace(copy("a", "10.96.0.1"));
        assert!(!copies.remove(&name("b")));
        assert!(copies.remove(&name("a")));
        assert!(copies.is_empty());
        assert!(copies.get(&name("a")).is_none());
    }
}
