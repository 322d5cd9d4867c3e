use super::*;
use crate::fixtures;

fn endpoint(ip: &str, node: &str, pod: &str) -> Endpoint {
    Endpoint::try_from(fixtures::endpoint(ip, node, pod)).expect("valid endpoint")
}

fn b() -> ClusterName {
    ClusterName::new("b").expect("name")
}

#[test]
fn names_are_shared_and_forgotten_with_their_last_endpoint() {
    let mut table = EndpointTable::default();
    table.upsert(endpoint("10.2.1.7", "b1", "web-1"), 1);
    table.upsert(endpoint("10.2.1.8", "b1", "web-2"), 1);
    table.upsert(endpoint("10.2.2.7", "b2", "web-3"), 1);
    // b1, b2 and the namespace, once each.
    assert_eq!(table.names.len(), 3);
    assert!(table.remove(&b(), "10.2.2.7".parse().expect("ip")));
    assert_eq!(table.names.len(), 2);
    // Moving the last endpoint of b1 elsewhere forgets b1.
    table.upsert(endpoint("10.2.1.7", "b3", "web-1"), 1);
    table.upsert(endpoint("10.2.1.8", "b3", "web-2"), 1);
    let mut names: Vec<&str> = table.names.iter().collect();
    names.sort_unstable();
    assert_eq!(names, ["b3", "shop"]);
    assert_eq!(table.len(), 2);
}

#[test]
fn a_sweep_drops_what_its_mark_did_not_reach_and_the_names_with_it() {
    let mut table = EndpointTable::default();
    table.upsert(endpoint("10.2.1.7", "b1", "web-1"), 1);
    table.upsert(endpoint("10.2.2.7", "b2", "web-2"), 1);
    table.upsert(endpoint("10.2.1.7", "b1", "web-1"), 2);
    assert!(table.sweep(2));
    assert!(!table.sweep(2), "nothing left to drop");
    assert_eq!(table.len(), 1);
    assert!(table.contains(&b(), "10.2.1.7".parse().expect("ip")));
    assert_eq!(table.names.len(), 2);
    assert!(!table.remove(&b(), "10.2.2.7".parse().expect("ip")));
}

#[test]
fn an_entry_is_32_bytes() {
    assert_eq!(std::mem::size_of::<Entry>(), 32);
}
