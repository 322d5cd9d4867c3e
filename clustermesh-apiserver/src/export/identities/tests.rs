use super::{INSTANCE_LABELS, LabelSet, in_use};
use crate::export::fixtures::*;
use crate::source::ClusterObjects;

#[test]
fn instance_labels_are_ignored() {
    let mut labels = map(&[("app", "web"), ("tier", "front")]);
    let base = LabelSet::new("prod", labels.clone()).expect("valid");
    for key in INSTANCE_LABELS {
        labels.insert(key.to_string(), "x-1".into());
    }
    let with_instance = LabelSet::new("prod", labels).expect("valid");
    assert_eq!(base, with_instance);
    assert_eq!(with_instance.canonical(), "prod;app=web,tier=front");
}

#[test]
fn namespace_is_part_of_the_set() {
    let labels = map(&[("app", "web")]);
    let prod = LabelSet::new("prod", labels.clone()).expect("valid");
    let dev = LabelSet::new("dev", labels).expect("valid");
    assert_ne!(prod, dev);
    assert_eq!(
        LabelSet::new("dev", map(&[])).expect("valid").canonical(),
        "dev;"
    );
}

#[test]
fn canonical_form_is_sorted_and_validated() {
    let set = LabelSet::new(
        "prod",
        map(&[("z", "1"), ("app.kubernetes.io/name", "web")]),
    )
    .expect("valid");
    assert_eq!(set.canonical(), "prod;app.kubernetes.io/name=web,z=1");
    assert!(LabelSet::new("prod", map(&[("app", "a,b=c")])).is_err());
    assert!(LabelSet::new("Prod", map(&[])).is_err());
}

#[test]
fn in_use_collects_distinct_sets_of_eligible_pods() {
    let mut objects = ClusterObjects::default();
    let web = [("app", "web"), ("pod-template-hash", "abc")];
    objects
        .pods
        .insert(key("prod", "web-1"), pod(&web, &["10.1.0.5"]).into());
    let web2 = [("app", "web"), ("pod-template-hash", "def")];
    objects
        .pods
        .insert(key("prod", "web-2"), pod(&web2, &["10.1.0.6"]).into());
    objects
        .pods
        .insert(key("prod", "pending"), pod(&[("app", "db")], &[]).into());
    let sets = in_use(&objects);
    let canonical: Vec<String> = sets.iter().map(LabelSet::canonical).collect();
    assert_eq!(canonical, ["prod;app=web"]);
}
