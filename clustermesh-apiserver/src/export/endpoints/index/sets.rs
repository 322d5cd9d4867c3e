//! The label sets of the index's pods, shared between the pods that have them, and
//! remembered by the labels pods carry: a workload's replicas carry the same labels but
//! for the instance ones, so forming and validating a set once serves them all.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use crate::export::LabelSet;
use crate::export::identities::INSTANCE_LABELS;

/// A set, or why the labels form none.
pub(super) type Formed = Result<Arc<LabelSet>, String>;

/// Both tables are consulted for every pod: a fast hash, not a DoS-resistant one, as
/// the labels come from the cluster's own API.
type FastHash = foldhash::fast::RandomState;

#[derive(Default)]
pub(super) struct Sets {
    /// Sets in use and how many pods have each: what needs an identity id.
    counts: HashMap<Arc<LabelSet>, usize, FastHash>,
    /// Namespace and identity labels as pods carry them, by hash, with what they form.
    formed: HashMap<u64, Vec<Seen>, FastHash>,
    hasher: FastHash,
    /// Entries in `formed`, and how many there were after the last prune: it is pruned
    /// when it doubles.
    entries: usize,
    kept: usize,
}

struct Seen {
    namespace: String,
    labels: Vec<(String, String)>,
    formed: Formed,
}

/// A merged part's sets, by address, to the merged tables' own.
pub(super) type SetRemap = HashMap<*const LabelSet, Arc<LabelSet>, FastHash>;

impl Sets {
    /// Empty tables whose memo hashes as these do, for a part of a snapshot read
    /// elsewhere and [`Self::absorb`]ed after.
    pub fn fork(&self) -> Self {
        Self {
            hasher: self.hasher.clone(),
            ..Self::default()
        }
    }

    /// Takes in `other`'s sets and counts. Where both hold a set, this one's is kept;
    /// the result maps each of `other`'s sets that was replaced to the one kept.
    pub fn absorb(&mut self, other: Sets) -> SetRemap {
        let mut remap = SetRemap::default();
        for (set, pods) in other.counts {
            let kept = match self.counts.get_key_value(&*set) {
                Some((kept, _)) => Arc::clone(kept),
                None => Arc::clone(&set),
            };
            *self.counts.entry(Arc::clone(&kept)).or_default() += pods;
            if !Arc::ptr_eq(&kept, &set) {
                remap.insert(Arc::as_ptr(&set), kept);
            }
        }
        for (hash, seen) in other.formed {
            for mut seen in seen {
                if let Ok(set) = &seen.formed
                    && let Some(kept) = remap.get(&Arc::as_ptr(set))
                {
                    seen.formed = Ok(Arc::clone(kept));
                }
                let bucket = self.formed.entry(hash).or_default();
                let known = (bucket.iter())
                    .any(|mine| mine.namespace == seen.namespace && mine.labels == seen.labels);
                if !known {
                    bucket.push(seen);
                    self.entries += 1;
                }
            }
        }
        self.kept_in_bounds();
        remap
    }

    pub fn in_use(&self) -> impl Iterator<Item = &LabelSet> {
        self.counts.keys().map(|set| &**set)
    }

    /// The set a pod in `namespace` with `labels` has, counted as in use by one more
    /// pod; or why its labels form none.
    pub fn take(&mut self, namespace: &str, labels: Option<&BTreeMap<String, String>>) -> Formed {
        let empty = BTreeMap::new();
        let labels = labels.unwrap_or(&empty);
        let formed = self.form(namespace, labels)?;
        *self.counts.entry(Arc::clone(&formed)).or_default() += 1;
        Ok(formed)
    }

    /// One pod fewer has `set`.
    pub fn release(&mut self, set: &LabelSet) {
        if let Some(pods) = self.counts.get_mut(set) {
            *pods -= 1;
            if *pods == 0 {
                self.counts.remove(set);
            }
        }
    }

    fn form(&mut self, namespace: &str, labels: &BTreeMap<String, String>) -> Formed {
        let identity_labels = || {
            labels
                .iter()
                .filter(|(k, _)| !INSTANCE_LABELS.contains(&k.as_str()))
        };
        let mut hasher = self.hasher.build_hasher();
        namespace.hash(&mut hasher);
        for pair in identity_labels() {
            pair.hash(&mut hasher);
        }
        let bucket = self.formed.entry(hasher.finish()).or_default();
        let same = |seen: &&Seen| {
            seen.namespace == namespace
                && seen.labels.len() == identity_labels().count()
                && (seen.labels.iter())
                    .zip(identity_labels())
                    .all(|((a, b), (k, v))| a == k && b == v)
        };
        if let Some(seen) = bucket.iter().find(same) {
            return seen.formed.clone();
        }
        let formed = LabelSet::new(namespace, labels.clone())
            .map(Arc::new)
            .map_err(|e| e.to_string());
        bucket.push(Seen {
            namespace: namespace.to_owned(),
            labels: identity_labels()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            formed: formed.clone(),
        });
        self.entries += 1;
        self.kept_in_bounds();
        formed
    }

    /// Forgets labels no pod has any more once the memo has doubled since the last
    /// prune, so workloads that come and go do not grow it without bound.
    fn kept_in_bounds(&mut self) {
        if self.entries < 2 * self.kept + 64 {
            return;
        }
        let counts = &self.counts;
        for bucket in self.formed.values_mut() {
            bucket.retain(|seen| matches!(&seen.formed, Ok(set) if counts.contains_key(&**set)));
        }
        self.formed.retain(|_, bucket| !bucket.is_empty());
        self.entries = self.formed.values().map(Vec::len).sum();
        self.kept = self.entries;
    }
}
