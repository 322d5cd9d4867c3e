//! The endpoints and identities of a cluster's pods, kept current across snapshots.
//!
//! The exporter sees a new snapshot for every change in its cluster. Rebuilding every
//! endpoint each time made a round cost an allocation and an encoding per pod, so at
//! 100k pods one changed pod took a tenth of a second to leave the cluster. The index
//! compares each pod with the last snapshot by pointer (sources share pods, see
//! [`ClusterObjects`](crate::source::ClusterObjects)), re-derives only the changed ones
//! and reports which records changed. Built from scratch it is [`super::export`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use clustermesh_proto::{ClusterName, Endpoint, Identity, IdentityId, Record, pb, record_key};
use k8s_openapi::api::core::v1::Pod;

use super::{PodClaim, addresses, claim, endpoint};
use crate::export::{LabelSet, ObjectKind, Warning};
use crate::source::ObjectRef;

/// A record to write under the cluster's prefix, or the key of one to delete.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordChange {
    Put(Record),
    Delete(String),
}

pub struct EndpointIndex {
    cluster: ClusterName,
    pods: BTreeMap<ObjectRef, PodState>,
    /// The label sets of claiming pods and how many pods have each: what needs an id.
    /// Pods share their set from here: a workload's replicas have one.
    sets: BTreeMap<Arc<LabelSet>, usize>,
    /// Every IP's claimants; the first in namespace/name order is exported.
    claims: BTreeMap<IpAddr, Claimants>,
    /// IPs with more than one claimant, for the warnings.
    contested: BTreeSet<IpAddr>,
    /// The ids placed pods use, with their set and how many pods use each.
    placed_ids: BTreeMap<IdentityId, (Arc<LabelSet>, usize)>,
    /// Identities some exported endpoint refers to, and how many do.
    exported: BTreeMap<IdentityId, (Identity, usize)>,
    /// Pods whose endpoints are to be placed by the next [`Self::resolve`]; may repeat
    /// a pod, or name one gone or placed since, which placing skips.
    unplaced: Vec<ObjectRef>,
    /// Pods with warnings of their own.
    noted: BTreeSet<ObjectRef>,
    /// IPs whose claimants changed since the last resolve, with the endpoint exported
    /// for each before the first change.
    touched: BTreeMap<IpAddr, Option<Endpoint>>,
}

struct PodState {
    pod: Arc<Pod>,
    labels: Labels,
    placed: Option<Placed>,
    warnings: Vec<String>,
}

/// A [`PodClaim`] as kept: the set shared with the pod's replicas.
enum Labels {
    Nothing,
    Bad(String),
    Set(Arc<LabelSet>),
}

struct Placed {
    id: IdentityId,
    ips: Vec<IpAddr>,
}

impl EndpointIndex {
    pub fn new(cluster: ClusterName) -> Self {
        Self {
            cluster,
            pods: BTreeMap::new(),
            sets: BTreeMap::new(),
            claims: BTreeMap::new(),
            contested: BTreeSet::new(),
            placed_ids: BTreeMap::new(),
            exported: BTreeMap::new(),
            unplaced: Vec::new(),
            noted: BTreeSet::new(),
            touched: BTreeMap::new(),
        }
    }

    /// Takes in a snapshot of the cluster's pods. Unchanged pods cost a comparison.
    pub fn observe(&mut self, pods: &BTreeMap<ObjectRef, Arc<Pod>>) {
        if self.pods.is_empty() {
            return self.observe_first(pods);
        }
        for (key, pod) in changed(&self.pods, pods) {
            self.withdraw(&key);
            match pod {
                Some(pod) => self.admit(key, pod),
                None => {
                    self.noted.remove(&key);
                    if let Some(old) = self.pods.remove(&key) {
                        self.release_set(&old.labels);
                    }
                }
            }
        }
    }

    /// The first snapshot, every pod new: built in one pass, as a sorted bulk insert is
    /// several times faster than a million single ones.
    fn observe_first(&mut self, pods: &BTreeMap<ObjectRef, Arc<Pod>>) {
        self.unplaced.extend(pods.keys().cloned());
        let states: Vec<(ObjectRef, PodState)> = pods
            .iter()
            .map(|(key, pod)| (key.clone(), self.new_state(key, Arc::clone(pod))))
            .collect();
        self.pods = states.into_iter().collect();
    }

    /// Places the observed pods' endpoints with the ids `resolve` gives their label sets
    /// (pods whose set has none yet wait for a later call) and returns the records that
    /// changed since the last call.
    pub fn resolve(
        &mut self,
        resolve: &impl Fn(&LabelSet) -> Option<IdentityId>,
    ) -> Vec<RecordChange> {
        let mut unplaced = std::mem::take(&mut self.unplaced);
        unplaced.sort_unstable();
        unplaced.dedup();
        for key in unplaced {
            self.place(key, resolve);
        }
        self.changes()
    }

    /// The label sets that need an identity id.
    pub fn label_sets(&self) -> impl Iterator<Item = &LabelSet> {
        self.sets.keys().map(|set| &**set)
    }

    /// The exported endpoints, by IP.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.claims
            .values()
            .filter_map(Claimants::first)
            .cloned()
            .collect()
    }

    /// The exported identities, by id.
    pub fn identities(&self) -> Vec<Identity> {
        self.exported.values().map(|(r, _)| r.clone()).collect()
    }

    pub fn endpoint_count(&self) -> usize {
        self.claims.len()
    }

    pub fn identity_count(&self) -> usize {
        self.exported.len()
    }

    /// Why pods or some of their IPs are not exported, in namespace/name order.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut by_pod: BTreeMap<&ObjectRef, Vec<String>> = self
            .noted
            .iter()
            .filter_map(|key| Some((key, self.pods.get(key)?.warnings.clone())))
            .collect();
        for ip in &self.contested {
            let Some(claimants) = self.claims.get(ip) else {
                continue;
            };
            let mut keys = claimants.0.iter().map(|(key, _)| key);
            let Some(winner) = keys.next() else { continue };
            for loser in keys {
                by_pod.entry(loser).or_default().push(format!(
                    "IP {ip} not exported: already claimed by pod {winner}"
                ));
            }
        }
        by_pod
            .into_iter()
            .flat_map(|(key, messages)| {
                messages
                    .into_iter()
                    .map(move |m| Warning::new(ObjectKind::Pod, key, m))
            })
            .collect()
    }

    fn admit(&mut self, key: ObjectRef, pod: Arc<Pod>) {
        let state = self.new_state(&key, pod);
        if let Some(old) = self.pods.insert(key.clone(), state) {
            self.release_set(&old.labels);
        }
        self.unplaced.push(key);
    }

    fn new_state(&mut self, key: &ObjectRef, pod: Arc<Pod>) -> PodState {
        let labels = match claim(key, &pod) {
            PodClaim::Nothing => Labels::Nothing,
            PodClaim::BadLabels(e) => Labels::Bad(e),
            PodClaim::Addresses(set) => Labels::Set(self.share_set(set)),
        };
        PodState {
            pod,
            labels,
            placed: None,
            warnings: Vec::new(),
        }
    }

    /// Takes the pod's endpoints out of the claims; it stays known until it is gone.
    fn withdraw(&mut self, key: &ObjectRef) {
        let Some(placed) = self.pods.get_mut(key).and_then(|s| s.placed.take()) else {
            return;
        };
        for ip in placed.ips {
            self.touch(ip);
            if let Some(claimants) = self.claims.get_mut(&ip) {
                claimants.remove(key);
                if claimants.0.is_empty() {
                    self.claims.remove(&ip);
                }
            }
        }
        if let Some((_, pods)) = self.placed_ids.get_mut(&placed.id) {
            *pods -= 1;
            if *pods == 0 {
                self.placed_ids.remove(&placed.id);
            }
        }
    }

    fn place(&mut self, key: ObjectRef, resolve: &impl Fn(&LabelSet) -> Option<IdentityId>) {
        let Some(state) = self.pods.get(&key).filter(|s| s.placed.is_none()) else {
            return;
        };
        let mut warnings = Vec::new();
        let mut placed = None;
        match &state.labels {
            Labels::Nothing => {}
            Labels::Bad(e) => warnings.push(format!("not exported: labels: {e}")),
            Labels::Set(set) => match resolve(set) {
                None => {
                    warnings.push(format!("not exported yet: no identity allocated for {set}"));
                    // The exporter allocates before resolving, so this retries next time.
                    self.unplaced.push(key.clone());
                }
                Some(id) => match self.placed_ids.get(&id) {
                    Some((other, _)) if other != set => warnings.push(format!(
                        "not exported: identity {id} is already used by {other}"
                    )),
                    _ => {
                        let (node, ips) = addresses(&state.pod);
                        let mut endpoints = Vec::new();
                        for ip in ips {
                            match endpoint(&self.cluster, &key, node, ip, id) {
                                Ok(e) => endpoints.push(e),
                                Err(message) => warnings.push(message),
                            }
                        }
                        placed = Some((id, Arc::clone(set), endpoints));
                    }
                },
            },
        }
        if let Some((id, set, endpoints)) = placed {
            self.placed_ids.entry(id).or_insert((set, 0)).1 += 1;
            let mut ips = Vec::with_capacity(endpoints.len());
            for e in endpoints {
                self.touch(e.ip);
                ips.push(e.ip);
                (self.claims.entry(e.ip))
                    .or_insert_with(|| Claimants(Vec::with_capacity(1)))
                    .insert(key.clone(), e);
            }
            ips.sort_unstable();
            ips.dedup();
            if let Some(state) = self.pods.get_mut(&key) {
                state.placed = Some(Placed { id, ips });
            }
        }
        match warnings.is_empty() {
            true => self.noted.remove(&key),
            false => self.noted.insert(key.clone()),
        };
        if let Some(state) = self.pods.get_mut(&key) {
            state.warnings = warnings;
        }
    }

    /// Remembers what `ip` exported before its first change since the last resolve.
    fn touch(&mut self, ip: IpAddr) {
        if !self.touched.contains_key(&ip) {
            let before = self.claims.get(&ip).and_then(Claimants::first).cloned();
            self.touched.insert(ip, before);
        }
    }

    fn changes(&mut self) -> Vec<RecordChange> {
        let mut changes = Vec::new();
        let mut ids: BTreeMap<IdentityId, Option<Identity>> = BTreeMap::new();
        for (ip, before) in std::mem::take(&mut self.touched) {
            let claimants = self.claims.get(&ip).map_or(0, |c| c.0.len());
            match claimants > 1 {
                true => self.contested.insert(ip),
                false => self.contested.remove(&ip),
            };
            let after = self.claims.get(&ip).and_then(Claimants::first).cloned();
            if before == after {
                continue;
            }
            if let Some(old) = &before {
                self.note_id(&mut ids, old.identity);
                self.count_exported(old.identity, false);
            }
            match after {
                Some(new) => {
                    self.note_id(&mut ids, new.identity);
                    self.count_exported(new.identity, true);
                    changes.push(RecordChange::Put(Record::Endpoint(new)));
                }
                None => {
                    let gone = before.as_ref().map(record_key).unwrap_or_default();
                    changes.push(RecordChange::Delete(gone));
                }
            }
        }
        for (id, before) in ids {
            let after = self.exported.get(&id).map(|(r, _)| r);
            match (before, after) {
                (before, Some(now)) if before.as_ref() != Some(now) => {
                    changes.push(RecordChange::Put(Record::Identity(now.clone())));
                }
                (Some(old), None) => changes.push(RecordChange::Delete(record_key(&old))),
                _ => {}
            }
        }
        changes
    }

    fn note_id(&self, ids: &mut BTreeMap<IdentityId, Option<Identity>>, id: IdentityId) {
        ids.entry(id)
            .or_insert_with(|| self.exported.get(&id).map(|(r, _)| r.clone()));
    }

    fn count_exported(&mut self, id: IdentityId, up: bool) {
        if up {
            if let Some((_, endpoints)) = self.exported.get_mut(&id) {
                *endpoints += 1;
            } else if let Some(record) = self.identity(id) {
                self.exported.insert(id, (record, 1));
            }
            return;
        }
        if let Some((_, endpoints)) = self.exported.get_mut(&id) {
            *endpoints -= 1;
            if *endpoints == 0 {
                self.exported.remove(&id);
            }
        }
    }

    /// Building one cannot fail: its parts were validated as a `LabelSet`, a
    /// `ClusterName` and an `IdentityId`.
    fn identity(&self, id: IdentityId) -> Option<Identity> {
        let (set, _) = self.placed_ids.get(&id)?;
        Identity::try_from(pb::Identity {
            cluster: self.cluster.to_string(),
            id: id.get(),
            namespace: set.namespace().to_string(),
            labels: set.labels().clone(),
        })
        .ok()
    }

    fn share_set(&mut self, set: LabelSet) -> Arc<LabelSet> {
        if let Some((shared, _)) = self.sets.get_key_value(&set) {
            let shared = Arc::clone(shared);
            *self.sets.entry(Arc::clone(&shared)).or_default() += 1;
            return shared;
        }
        let shared = Arc::new(set);
        self.sets.insert(Arc::clone(&shared), 1);
        shared
    }

    fn release_set(&mut self, labels: &Labels) {
        let Labels::Set(set) = labels else {
            return;
        };
        if let Some(pods) = self.sets.get_mut(&**set) {
            *pods -= 1;
            if *pods == 0 {
                self.sets.remove(&**set);
            }
        }
    }
}

/// The pods claiming one IP with their endpoint for it, in namespace/name order. Almost
/// always exactly one: a vector is one small allocation where a map is a node per IP.
struct Claimants(Vec<(ObjectRef, Endpoint)>);

impl Claimants {
    fn first(&self) -> Option<&Endpoint> {
        self.0.first().map(|(_, e)| e)
    }

    fn insert(&mut self, key: ObjectRef, endpoint: Endpoint) {
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(at) => self.0[at].1 = endpoint,
            Err(at) => self.0.insert(at, (key, endpoint)),
        }
    }

    fn remove(&mut self, key: &ObjectRef) {
        if let Ok(at) = self.0.binary_search_by(|(k, _)| k.cmp(key)) {
            self.0.remove(at);
        }
    }
}

/// The pods that differ between what the index holds and `pods`, with their new state
/// (`None`: gone). One merge of two sorted maps; equal pods are the same allocation.
fn changed(
    known: &BTreeMap<ObjectRef, PodState>,
    pods: &BTreeMap<ObjectRef, Arc<Pod>>,
) -> Vec<(ObjectRef, Option<Arc<Pod>>)> {
    use std::cmp::Ordering;
    let mut out = Vec::new();
    let mut old = known.iter().peekable();
    let mut new = pods.iter().peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => return out,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        let (was, is) = match order {
            Ordering::Less => (old.next(), None),
            Ordering::Greater => (None, new.next()),
            Ordering::Equal => (old.next(), new.next()),
        };
        match (was, is) {
            (Some((_, state)), Some((key, pod))) if !Arc::ptr_eq(&state.pod, pod) => {
                out.push((key.clone(), Some(pod.clone())));
            }
            (Some((key, _)), None) => out.push((key.clone(), None)),
            (None, Some((key, pod))) => out.push((key.clone(), Some(pod.clone()))),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
