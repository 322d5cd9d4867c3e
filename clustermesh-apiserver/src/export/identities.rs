//! Identities: one per distinct (namespace, pod labels) set.
//!
//! An identity names what a pod *is* for policy, so every replica of a workload must get
//! the same one. Labels that controllers stamp on each pod instance are therefore
//! dropped before the set is formed; see [`INSTANCE_LABELS`].

use std::collections::{BTreeMap, BTreeSet};

use clustermesh_proto::{DnsLabel, ValidationError, validate_label_key, validate_label_value};

use super::endpoints::{PodClaim, claim};
use crate::source::ClusterObjects;

/// Labels that differ between instances of one workload. Keeping any of them would
/// give every pod (or every rollout) its own identity: the id space (65535 per
/// cluster) would run out and policy caches would churn on each restart.
/// - `pod-template-hash`: Deployment/ReplicaSet revision, changes on every rollout.
/// - `controller-revision-hash`: the same for StatefulSets and DaemonSets.
/// - `statefulset.kubernetes.io/pod-name`: unique per StatefulSet pod.
/// - `apps.kubernetes.io/pod-index`: the StatefulSet/indexed Job ordinal.
pub const INSTANCE_LABELS: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
];

/// A namespace and the identity-relevant labels of a pod in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelSet {
    namespace: DnsLabel,
    labels: BTreeMap<String, String>,
}

impl LabelSet {
    /// Drops [`INSTANCE_LABELS`] and validates the rest, so every set can be exported
    /// as an `Identity` and has an unambiguous [`LabelSet::canonical`] form.
    pub fn new(
        namespace: &str,
        labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ValidationError> {
        let namespace = DnsLabel::new(namespace)?;
        let mut kept = BTreeMap::new();
        for (key, value) in labels {
            if INSTANCE_LABELS.contains(&key.as_str()) {
                continue;
            }
            validate_label_key(&key)?;
            validate_label_value(&key, &value)?;
            kept.insert(key, value);
        }
        Ok(Self {
            namespace,
            labels: kept,
        })
    }

    pub fn namespace(&self) -> &DnsLabel {
        &self.namespace
    }

    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }

    /// `<namespace>;<key>=<value>,<key>=<value>` with keys sorted. Injective: a
    /// namespace cannot hold `;`, and valid label keys and values hold none of `;`, `=`
    /// or `,`. Used as a store key, so two replicas agree on it byte for byte.
    pub fn canonical(&self) -> String {
        let pairs: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{};{}", self.namespace, pairs.join(","))
    }
}

impl std::fmt::Display for LabelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// The label sets of every pod that exports an endpoint: what needs an identity id
/// before [`super::plan`] runs. Pods with invalid labels are left out here and reported
/// by the plan.
pub fn in_use(objects: &ClusterObjects) -> BTreeSet<LabelSet> {
    objects
        .pods
        .iter()
        .filter_map(|(key, pod)| match claim(key, pod) {
            PodClaim::Addresses(set) => Some(set),
            _ => None,
        })
        .collect()
}

pub(super) fn label_set(
    namespace: &str,
    pod: &k8s_openapi::api::core::v1::Pod,
) -> Result<LabelSet, ValidationError> {
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    LabelSet::new(namespace, labels)
}

#[cfg(test)]
mod tests;
