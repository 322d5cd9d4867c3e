use clustermesh_proto::pb;

use super::*;

fn identity(local: u32, labels: &[(&str, &str)]) -> Identity {
    Identity::try_from(pb::Identity {
        cluster: "b".into(),
        id: 2 << 16 | local,
        namespace: "shop".into(),
        labels: (labels.iter())
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    })
    .expect("valid identity")
}

fn b() -> ClusterName {
    ClusterName::new("b").expect("name")
}

fn id(local: u32) -> IdentityId {
    IdentityId::try_from(2 << 16 | local).expect("id")
}

#[test]
fn a_resent_identity_is_no_change_and_new_labels_are() {
    let mut table = IdentityTable::default();
    assert!(table.upsert(identity(1, &[("app", "web"), ("tier", "front")]), 1));
    assert!(!table.upsert(identity(1, &[("app", "web"), ("tier", "front")]), 1));
    assert!(table.upsert(identity(1, &[("app", "web")]), 1));
    assert!(table.upsert(identity(1, &[("app", "db")]), 1));
    assert_eq!(table.len(), 1);
    let held: Vec<IdentityRef<'_>> = table.iter().collect();
    assert_eq!((held[0].id, held[0].namespace), (id(1), "shop"));
    assert_eq!(held[0].labels, [("app".into(), "db".into())]);
}

#[test]
fn labels_are_held_sorted_by_key() {
    let mut table = IdentityTable::default();
    table.upsert(identity(1, &[("tier", "front"), ("app", "web")]), 1);
    let keys: Vec<&str> = table
        .iter()
        .flat_map(|i| i.labels)
        .map(|(k, _)| &**k)
        .collect();
    assert_eq!(keys, ["app", "tier"]);
}

#[test]
fn a_sweep_drops_what_its_mark_did_not_reach() {
    let mut table = IdentityTable::default();
    table.upsert(identity(1, &[("app", "web")]), 1);
    table.upsert(identity(2, &[("app", "db")]), 1);
    table.upsert(identity(1, &[("app", "web")]), 2);
    assert!(table.sweep(2));
    assert!(!table.sweep(2), "nothing left to drop");
    let ids: Vec<IdentityId> = table.iter().map(|i| i.id).collect();
    assert_eq!(ids, [id(1)]);
    assert!(!table.remove(&b(), id(2)));
    assert!(table.remove(&b(), id(1)));
    assert_eq!(table.len(), 0);
}
