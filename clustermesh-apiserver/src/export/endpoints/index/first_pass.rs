//! A first snapshot, every pod new and nothing claimed yet: observed and placed in one
//! ordered pass each, as sorted bulk inserts are several times faster than a million
//! single ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use clustermesh_proto::IdentityId;
use k8s_openapi::api::core::v1::Pod;

use super::claims::{Claim, Claimants};
use super::observe;
use super::placement::{self, Context, Outcome, Placement};
use super::{EndpointIndex, Placed, RecordChange, identity_record};
use crate::export::LabelSet;
use crate::source::ObjectRef;

/// Records per emitted chunk: about one store write's worth.
const EMIT_CHUNK: usize = 8192;

impl EndpointIndex {
    /// The first snapshot, every pod new: built in one pass, as a sorted bulk insert is
    /// several times faster than a million single ones.
    pub(super) fn observe_first(&mut self, pods: &BTreeMap<ObjectRef, Arc<Pod>>) {
        let states = observe::read_all(&mut self.sets, &mut self.names, pods);
        self.observed_first(states);
    }

    /// [`Self::observe_first`] read in `parts` parts, whatever the snapshot's size.
    #[cfg(test)]
    pub(super) fn observe_first_in(&mut self, pods: &BTreeMap<ObjectRef, Arc<Pod>>, parts: usize) {
        let states = observe::read_in_parts(&mut self.sets, &mut self.names, pods, parts);
        self.observed_first(states);
    }

    fn observed_first(&mut self, states: Vec<(ObjectRef, super::PodState)>) {
        self.pods = states.into_iter().collect();
        self.all_unplaced = !self.pods.is_empty();
    }

    /// Places every pod of a first snapshot in one pass in namespace/name order, which
    /// is the order [`Self::place`] would take them in, and emits every record as soon
    /// as it is known: an IP's first claimant in that order is its winner, so its
    /// record is final when it is placed.
    pub(super) fn place_all(
        &mut self,
        resolve: &impl Fn(&LabelSet) -> Option<IdentityId>,
        emit: &mut dyn FnMut(Vec<RecordChange>),
    ) {
        // Replicas share their set, so each set is resolved once.
        let mut ids: HashMap<*const LabelSet, Option<IdentityId>> = HashMap::new();
        let mut claimed: Vec<(IpAddr, Claim)> = Vec::with_capacity(self.pods.len());
        let mut won: HashSet<IpAddr, foldhash::fast::RandomState> =
            HashSet::with_capacity_and_hasher(self.pods.len(), Default::default());
        let mut chunk = Vec::with_capacity(EMIT_CHUNK);
        let mut noted = Vec::new();
        for (key, state) in self.pods.iter_mut() {
            let mut cx = Context {
                cluster: &self.cluster,
                placed_ids: &self.placed_ids,
                names: &mut self.names,
            };
            let id_of = |set: &LabelSet| {
                *ids.entry(std::ptr::from_ref(set))
                    .or_insert_with(|| resolve(set))
            };
            let Placement { outcome, warnings } = placement::place(&mut cx, key, state, id_of);
            match outcome {
                Outcome::Nothing => {}
                Outcome::Wait => self.unplaced.push(key.clone()),
                Outcome::Placed { id, set, claims } => {
                    self.placed_ids.entry(id).or_insert((set, 0)).1 += 1;
                    let mut ips: Vec<IpAddr> = claims.iter().map(|(ip, _)| *ip).collect();
                    ips.sort_unstable();
                    ips.dedup();
                    state.placed = Some(Placed { id, ips });
                    for (ip, claim) in claims.iter().filter(|(ip, _)| won.insert(*ip)) {
                        let (key, value) = claim.record(&self.cluster, *ip);
                        chunk.push(RecordChange::Put { key, value });
                    }
                    if chunk.len() >= EMIT_CHUNK {
                        emit(std::mem::replace(
                            &mut chunk,
                            Vec::with_capacity(EMIT_CHUNK),
                        ));
                    }
                    claimed.extend(claims);
                }
            }
            if !warnings.is_empty() {
                noted.push(key.clone());
            }
            state.warnings = warnings;
        }
        drop(won);
        self.noted.extend(noted);
        // Stable: each IP's claims stay in namespace/name order.
        claimed.sort_by_key(|(ip, _)| *ip);
        let grouped = Claimants::grouped(claimed);
        for (ip, claimants) in &grouped {
            if claimants.len() > 1 {
                self.contested.insert(*ip);
            }
            if let Some(winner) = claimants.first() {
                self.count_exported(winner.identity, true);
            }
        }
        self.claims = grouped.into_iter().collect();
        chunk.extend(self.exported.values().map(|(identity, _)| {
            let (key, value) = identity_record(identity);
            RecordChange::Put { key, value }
        }));
        emit(chunk);
    }
}
