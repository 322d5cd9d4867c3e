//! The endpoints and identities of a cluster's pods, kept current across snapshots.
//!
//! The exporter sees a new snapshot for every change in its cluster. Rebuilding every
//! endpoint each time made a round cost an allocation and an encoding per pod, so at
//! 100k pods one changed pod took a tenth of a second to leave the cluster. The index
//! compares each pod with the last snapshot by pointer (sources share pods, see
//! [`ClusterObjects`](crate::source::ClusterObjects)), re-derives only the changed ones
//! and reports which records changed, encoded. A first snapshot is placed in one
//! ordered pass instead. Built from scratch it is [`super::export`].

mod claims;
mod first_pass;
mod names;
mod observe;
mod placement;
mod sets;

#[cfg(test)]
mod tests;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use clustermesh_proto::{ClusterName, Endpoint, Identity, IdentityId, Record, pb, record_key};
use k8s_openapi::api::core::v1::Pod;

use self::claims::{Claim, Claimants, PodNames, endpoint_key};
use self::names::Names;
use self::placement::{Context, Outcome, Placement};
use self::sets::Sets;
use crate::export::{LabelSet, ObjectKind, Warning};
use crate::source::ObjectRef;

/// A record to write under the cluster's prefix, encoded, or the key of one to delete.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordChange {
    Put { key: String, value: Bytes },
    Delete(String),
}

pub struct EndpointIndex {
    cluster: ClusterName,
    pods: BTreeMap<ObjectRef, PodState>,
    /// The label sets of claiming pods: what needs an id. Pods share their set from
    /// here: a workload's replicas have one.
    sets: Sets,
    names: Names,
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
    /// Every pod is unplaced, nothing is claimed and nothing awaits a change report: the
    /// next resolve places them all in one pass, in order.
    all_unplaced: bool,
    /// Pods with warnings of their own.
    noted: BTreeSet<ObjectRef>,
    /// IPs whose claimants changed since the last resolve, with the claim exported for
    /// each before the first change.
    touched: BTreeMap<IpAddr, Option<Claim>>,
}

struct PodState {
    pod: Arc<Pod>,
    labels: Labels,
    /// The pod's names as its endpoints carry them; `None` when they are not valid
    /// ones, which placing reports.
    names: Option<Arc<PodNames>>,
    /// Its node and IPs, read when observed; `None` when it has none to export, or one
    /// that does not parse, which placing reports.
    addresses: Option<observe::Addresses>,
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
            sets: Sets::default(),
            names: Names::default(),
            claims: BTreeMap::new(),
            contested: BTreeSet::new(),
            placed_ids: BTreeMap::new(),
            exported: BTreeMap::new(),
            unplaced: Vec::new(),
            all_unplaced: false,
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

    /// Places the observed pods' endpoints with the ids `resolve` gives their label sets
    /// (pods whose set has none yet wait for a later call) and returns the records that
    /// changed since the last call.
    pub fn resolve(
        &mut self,
        resolve: &impl Fn(&LabelSet) -> Option<IdentityId>,
    ) -> Vec<RecordChange> {
        let mut changes = Vec::new();
        self.resolve_into(resolve, &mut |chunk| changes.extend(chunk));
        changes
    }

    /// As [`Self::resolve`], handing the changes to `emit` in chunks as they are made:
    /// a first snapshot of a million pods emits its first records within milliseconds,
    /// so they can be written while the rest are still being placed.
    pub fn resolve_into(
        &mut self,
        resolve: &impl Fn(&LabelSet) -> Option<IdentityId>,
        emit: &mut dyn FnMut(Vec<RecordChange>),
    ) {
        self.names.prune();
        if std::mem::take(&mut self.all_unplaced) {
            if self.claims.is_empty() && self.touched.is_empty() {
                return self.place_all(resolve, emit);
            }
            self.unplaced.extend(self.pods.keys().cloned());
        }
        let mut unplaced = std::mem::take(&mut self.unplaced);
        unplaced.sort_unstable();
        unplaced.dedup();
        for key in unplaced {
            self.place(key, resolve);
        }
        emit(self.changes());
    }

    /// The label sets that need an identity id.
    pub fn label_sets(&self) -> impl Iterator<Item = &LabelSet> {
        self.sets.in_use()
    }

    /// The exported endpoints, by IP.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.claims
            .iter()
            .filter_map(|(ip, c)| Some(c.first()?.parts(&self.cluster, *ip).to_endpoint()))
            .collect()
    }

    /// The exported identities, by id.
    pub fn identities(&self) -> Vec<Identity> {
        self.exported.values().map(|(r, _)| r.clone()).collect()
    }

    /// Every exported record, encoded, as [`Self::resolve`] reports them.
    pub fn records(&self) -> impl Iterator<Item = (String, Bytes)> + '_ {
        let endpoints =
            (self.claims.iter()).filter_map(|(ip, c)| Some(c.first()?.record(&self.cluster, *ip)));
        let identities = self.exported.values().map(|(r, _)| identity_record(r));
        endpoints.chain(identities)
    }

    pub fn endpoint_count(&self) -> usize {
        self.claims.len()
    }

    pub fn identity_count(&self) -> usize {
        self.exported.len()
    }

    /// Why pods or some of their IPs are not exported, in namespace/name order.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut by_pod: BTreeMap<ObjectRef, Vec<String>> = self
            .noted
            .iter()
            .filter_map(|key| Some((key.clone(), self.pods.get(key)?.warnings.clone())))
            .collect();
        for ip in &self.contested {
            let Some(claimants) = self.claims.get(ip) else {
                continue;
            };
            let mut keys = claimants.all().iter().map(|c| c.who.key());
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
                    .map(move |m| Warning::new(ObjectKind::Pod, &key, m))
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
        observe::pod_state(&mut self.sets, &mut self.names, key, pod)
    }

    /// Takes the pod's endpoints out of the claims; it stays known until it is gone.
    fn withdraw(&mut self, key: &ObjectRef) {
        let Some(placed) = self.pods.get_mut(key).and_then(|s| s.placed.take()) else {
            return;
        };
        for ip in placed.ips {
            self.touch(ip);
            if let Some(claimants) = self.claims.get_mut(&ip)
                && !claimants.remove(key)
            {
                self.claims.remove(&ip);
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
        let mut cx = Context {
            cluster: &self.cluster,
            placed_ids: &self.placed_ids,
            names: &mut self.names,
        };
        let Placement { outcome, warnings } = placement::place(&mut cx, &key, state, resolve);
        match outcome {
            Outcome::Nothing => {}
            // The exporter allocates before resolving, so this retries next time.
            Outcome::Wait => self.unplaced.push(key.clone()),
            Outcome::Placed { id, set, claims } => {
                self.placed_ids.entry(id).or_insert((set, 0)).1 += 1;
                let mut ips = Vec::with_capacity(claims.len());
                for (ip, claim) in claims {
                    self.touch(ip);
                    ips.push(ip);
                    match self.claims.entry(ip) {
                        Entry::Occupied(mut claimants) => claimants.get_mut().insert(claim),
                        Entry::Vacant(slot) => drop(slot.insert(Claimants::One(claim))),
                    }
                }
                ips.sort_unstable();
                ips.dedup();
                if let Some(state) = self.pods.get_mut(&key) {
                    state.placed = Some(Placed { id, ips });
                }
            }
        }
        self.note(&key, warnings);
    }

    fn note(&mut self, key: &ObjectRef, warnings: Vec<String>) {
        match warnings.is_empty() {
            true => self.noted.remove(key),
            false => self.noted.insert(key.clone()),
        };
        if let Some(state) = self.pods.get_mut(key) {
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
            let claimants = self.claims.get(&ip).map_or(0, Claimants::len);
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
                    let (key, value) = new.record(&self.cluster, ip);
                    changes.push(RecordChange::Put { key, value });
                }
                None => changes.push(RecordChange::Delete(endpoint_key(&self.cluster, ip))),
            }
        }
        for (id, before) in ids {
            let after = self.exported.get(&id).map(|(r, _)| r);
            match (before, after) {
                (before, Some(now)) if before.as_ref() != Some(now) => {
                    let (key, value) = identity_record(now);
                    changes.push(RecordChange::Put { key, value });
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

    fn release_set(&mut self, labels: &Labels) {
        if let Labels::Set(set) = labels {
            self.sets.release(set);
        }
    }
}

fn identity_record(identity: &Identity) -> (String, Bytes) {
    let record = Record::Identity(identity.clone());
    (record_key(&record), record.encode())
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
