use std::collections::BTreeMap;
use std::sync::Arc;

use clustermesh_proto::{IdentityId, Record, record_key};
use k8s_openapi::api::core::v1::Pod;

use super::{EndpointIndex, RecordChange};
use crate::export::fixtures::{cluster, key, pod, resolver};
use crate::export::{LabelSet, identities::in_use};
use crate::source::{ClusterObjects, ObjectRef};

type Pods = BTreeMap<ObjectRef, Arc<Pod>>;

fn shared(labels: &[(&str, &str)], ips: &[&str]) -> Arc<Pod> {
    Arc::new(pod(labels, ips))
}

fn fresh(pods: &Pods, resolve: &impl Fn(&LabelSet) -> Option<IdentityId>) -> EndpointIndex {
    let mut index = EndpointIndex::new(cluster());
    index.observe(pods);
    drop(index.resolve(resolve));
    index
}

/// An index that has observed `pods`, and a resolver with an id for each of their sets.
fn indexed(
    pods: &Pods,
) -> (
    EndpointIndex,
    impl Fn(&LabelSet) -> Option<IdentityId> + use<>,
) {
    let objects = ClusterObjects {
        pods: pods.clone(),
        ..ClusterObjects::default()
    };
    let resolve = resolver(in_use(&objects).into_iter().collect());
    let mut index = EndpointIndex::new(cluster());
    index.observe(pods);
    (index, resolve)
}

/// The records an index exports, keyed as in the store.
fn records(index: &EndpointIndex) -> BTreeMap<String, Record> {
    let endpoints = index.endpoints().into_iter().map(Record::Endpoint);
    let identities = index.identities().into_iter().map(Record::Identity);
    endpoints
        .chain(identities)
        .map(|r| (record_key(&r), r))
        .collect()
}

fn apply(store: &mut BTreeMap<String, Record>, changes: Vec<RecordChange>) {
    for change in changes {
        match change {
            RecordChange::Put { key, value } => {
                let record = Record::decode(&value).expect("a valid record");
                assert_eq!(key, record_key(&record), "put at its own key");
                drop(store.insert(key, record));
            }
            RecordChange::Delete(key) => {
                assert!(store.remove(&key).is_some(), "deleted {key}, never put");
            }
        }
    }
}

#[test]
fn an_unchanged_snapshot_changes_nothing_and_a_moved_pod_changes_its_ip() {
    let mut pods = Pods::new();
    pods.insert(key("prod", "a"), shared(&[("app", "web")], &["10.1.0.1"]));
    pods.insert(key("prod", "b"), shared(&[("app", "web")], &["10.1.0.2"]));
    let (mut index, resolve) = indexed(&pods);
    assert_eq!(
        index.resolve(&resolve).len(),
        3,
        "two endpoints, one identity"
    );

    index.observe(&pods.clone());
    assert!(index.resolve(&resolve).is_empty());

    pods.insert(key("prod", "b"), shared(&[("app", "web")], &["10.1.0.3"]));
    index.observe(&pods);
    let changes = index.resolve(&resolve);
    let shown: Vec<String> = changes
        .iter()
        .map(|c| match c {
            RecordChange::Put { key, .. } => format!("put {key}"),
            RecordChange::Delete(k) => format!("delete {k}"),
        })
        .collect();
    let prefix = format!("{}/endpoints", cluster());
    assert_eq!(
        shown,
        [
            format!("delete {prefix}/10.1.0.2"),
            format!("put {prefix}/10.1.0.3"),
        ]
    );
}

#[test]
fn a_contested_ip_passes_to_the_next_claimant() {
    let mut pods = Pods::new();
    pods.insert(key("prod", "a"), shared(&[("app", "web")], &["10.1.0.1"]));
    pods.insert(key("prod", "b"), shared(&[("app", "db")], &["10.1.0.1"]));
    let (mut index, resolve) = indexed(&pods);
    drop(index.resolve(&resolve));
    assert_eq!(index.endpoints()[0].pod.as_str(), "a");
    assert_eq!(index.identity_count(), 1, "only the winner's identity");
    let warnings = index.warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].object, "prod/b");

    pods.remove(&key("prod", "a"));
    index.observe(&pods);
    drop(index.resolve(&resolve));
    assert_eq!(index.endpoints()[0].pod.as_str(), "b");
    assert_eq!(index.identities()[0].labels["app"], "db");
    assert!(index.warnings().is_empty());
}

/// A small deterministic generator, so a failure replays.
struct Steps(u64);

impl Steps {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

fn random_pod(steps: &mut Steps) -> Pod {
    let app = ["web", "db", "cache", "-bad"][steps.next(4)];
    let ips = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "fd01::1"];
    let first = ips[steps.next(ips.len())];
    let second = ips[steps.next(ips.len())];
    let mut pod = match steps.next(3) {
        0 => pod(&[("app", app)], &[first, second]),
        _ => pod(&[("app", app)], &[first]),
    };
    if steps.next(8) == 0
        && let Some(status) = pod.status.as_mut()
    {
        status.phase = Some("Pending".into());
    }
    if steps.next(10) == 0
        && let Some(spec) = pod.spec.as_mut()
    {
        spec.node_name = None;
    }
    pod
}

#[test]
fn after_every_change_it_exports_what_a_fresh_index_exports() {
    let valid = |apps: &[&str]| -> Vec<LabelSet> {
        apps.iter()
            .map(|app| LabelSet::new("prod", [("app".to_owned(), app.to_string())]))
            .collect::<Result<_, _>>()
            .expect("valid label sets")
    };
    // "cache" gets its id only halfway: its pods wait, then export.
    let early = resolver(valid(&["web", "db"]));
    let late = resolver(valid(&["web", "db", "cache"]));
    let mut steps = Steps(0x9e37_79b9_7f4a_7c15);
    let mut pods = Pods::new();
    let mut index = EndpointIndex::new(cluster());
    let mut store = BTreeMap::new();
    let mut cache_exported = false;
    for step in 0..600 {
        let name = format!("p{}", steps.next(12));
        match steps.next(4) {
            0 => drop(pods.remove(&key("prod", &name))),
            _ => drop(pods.insert(key("prod", &name), Arc::new(random_pod(&mut steps)))),
        }
        let resolve = |set: &LabelSet| match step < 300 {
            true => early(set),
            false => late(set),
        };
        index.observe(&pods);
        apply(&mut store, index.resolve(&resolve));

        let expected = fresh(&pods, &resolve);
        assert_eq!(index.endpoints(), expected.endpoints(), "step {step}");
        assert_eq!(index.identities(), expected.identities(), "step {step}");
        assert_eq!(index.warnings(), expected.warnings(), "step {step}");
        assert_eq!(store, records(&expected), "step {step}: the changes add up");
        let cache = index
            .identities()
            .iter()
            .any(|i| i.labels["app"] == "cache");
        assert!(step >= 300 || !cache, "step {step}: cache has no id yet");
        cache_exported |= cache;
    }
    assert!(
        cache_exported,
        "the waiting pods were exported once their set had an id"
    );
}

#[test]
fn pods_that_all_left_and_came_back_before_a_resolve_report_every_change() {
    let mut pods = Pods::new();
    pods.insert(key("prod", "a"), shared(&[("app", "web")], &["10.1.0.1"]));
    let (mut index, resolve) = indexed(&pods);
    let mut store = BTreeMap::new();
    apply(&mut store, index.resolve(&resolve));

    // Every pod gone, then a new one, with no resolve in between (a round that failed
    // to allocate): the old IP's delete must still be reported.
    index.observe(&Pods::new());
    let mut back = Pods::new();
    back.insert(key("prod", "b"), shared(&[("app", "web")], &["10.1.0.2"]));
    index.observe(&back);
    apply(&mut store, index.resolve(&resolve));
    assert_eq!(store, records(&fresh(&back, &resolve)));
}

#[test]
fn a_first_snapshot_read_in_parts_is_indexed_as_one_read_whole() {
    let mut steps = Steps(0x2545_f491_4f6c_dd1d);
    let mut pods = Pods::new();
    for i in 0..400 {
        let namespace = ["prod", "dev", "Bad_Namespace"][steps.next(3)];
        let mut pod = random_pod(&mut steps);
        if let Some(spec) = pod.spec.as_mut()
            && spec.node_name.is_some()
        {
            spec.node_name = Some(["n1", "n2", "n3", "Bad_Node"][steps.next(4)].into());
        }
        pods.insert(key(namespace, &format!("p{i}")), Arc::new(pod));
    }
    let (whole, resolve) = indexed(&pods);
    let mut whole = whole;
    let expected = whole.resolve(&resolve);

    let mut parts = EndpointIndex::new(cluster());
    parts.observe_first_in(&pods, 3);
    let changes = parts.resolve(&resolve);
    assert_eq!(
        changes, expected,
        "the same records, emitted in the same order"
    );
    assert_eq!(parts.endpoints(), whole.endpoints());
    assert_eq!(parts.identities(), whole.identities());
    assert_eq!(parts.warnings(), whole.warnings());

    // Shared as if read whole: one allocation per set and per namespace.
    let mut label_sets: Vec<*const LabelSet> = (parts.pods.values())
        .filter_map(|s| match &s.labels {
            super::Labels::Set(set) => Some(Arc::as_ptr(set)),
            _ => None,
        })
        .collect();
    label_sets.sort_unstable();
    label_sets.dedup();
    assert_eq!(label_sets.len(), parts.label_sets().count());
    assert_eq!(parts.label_sets().count(), whole.label_sets().count());
    let mut namespaces: Vec<*const clustermesh_proto::DnsLabel> = (parts.pods.values())
        .filter_map(|s| Some(Arc::as_ptr(&s.names.as_ref()?.namespace)))
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    assert_eq!(namespaces.len(), 2, "prod and dev, once each");
}
