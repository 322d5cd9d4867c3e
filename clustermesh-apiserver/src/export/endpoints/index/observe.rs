//! Reading pods into the index: each pod's label set and names shared through the
//! index's tables, and its node and IPs parsed once, so placing it (now or after an
//! identity is allocated) never reads the pod again. A first snapshot is read on every
//! core, each part with tables of its own that are merged after: nothing else of the
//! export can run before it is read, so the other cores would only wait.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Bound;
use std::sync::Arc;

use clustermesh_proto::DnsSubdomain;
use k8s_openapi::api::core::v1::Pod;

use super::claims::PodNames;
use super::names::{NameRemap, Names};
use super::sets::{SetRemap, Sets};
use super::{Labels, PodState};
use crate::export::endpoints::owned_ips;
use crate::source::ObjectRef;

/// A snapshot this small is read on one core: threads cost more than they save.
const PARALLEL_FROM: usize = 20_000;
const MAX_PARTS: usize = 8;

/// The node and IPs a pod's endpoints carry, read when it was observed.
pub(super) struct Addresses {
    pub node: Arc<DnsSubdomain>,
    pub ips: Box<[IpAddr]>,
}

/// The state of the pod at `key`, its set and names shared through `sets` and `names`.
pub(super) fn pod_state(
    sets: &mut Sets,
    names: &mut Names,
    key: &ObjectRef,
    pod: Arc<Pod>,
) -> PodState {
    let owned = owned_ips(&pod);
    let labels = match owned {
        None => Labels::Nothing,
        Some(_) => match sets.take(&key.namespace, pod.metadata.labels.as_ref()) {
            Ok(set) => Labels::Set(set),
            Err(e) => Labels::Bad(e),
        },
    };
    let (pod_names, addresses) = match (&labels, owned) {
        (Labels::Set(_), Some((node, ips))) => (
            self::pod_names(names, key),
            read_addresses(names, node, &ips),
        ),
        _ => (None, None),
    };
    PodState {
        pod,
        labels,
        names: pod_names,
        addresses,
        placed: None,
        warnings: Vec::new(),
    }
}

/// Every pod of `pods`, in order, read in parallel when there are many.
pub(super) fn read_all(
    sets: &mut Sets,
    names: &mut Names,
    pods: &BTreeMap<ObjectRef, Arc<Pod>>,
) -> Vec<(ObjectRef, PodState)> {
    let parts = match pods.len() < PARALLEL_FROM {
        true => 1,
        false => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_PARTS)),
    };
    read_in_parts(sets, names, pods, parts)
}

/// [`read_all`] in `parts` parts, one of them on this thread.
pub(super) fn read_in_parts(
    sets: &mut Sets,
    names: &mut Names,
    pods: &BTreeMap<ObjectRef, Arc<Pod>>,
    parts: usize,
) -> Vec<(ObjectRef, PodState)> {
    if parts < 2 || pods.len() < 2 {
        return read(sets, names, pods.iter());
    }
    let starts: Vec<&ObjectRef> = pods.keys().step_by(pods.len().div_ceil(parts)).collect();
    let mut ranges = starts.iter().enumerate().map(|(i, start)| {
        let end = match starts.get(i + 1) {
            Some(next) => Bound::Excluded(*next),
            None => Bound::Unbounded,
        };
        pods.range::<ObjectRef, _>((Bound::Included(*start), end))
    });
    let Some(first) = ranges.next() else {
        return Vec::new();
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = ranges
            .map(|range| {
                let (mut sets, mut names) = (sets.fork(), Names::default());
                scope.spawn(move || (read(&mut sets, &mut names, range), sets, names))
            })
            .collect();
        let mut states = Vec::with_capacity(pods.len());
        states.extend(
            first.map(|(key, pod)| (key.clone(), pod_state(sets, names, key, Arc::clone(pod)))),
        );
        for worker in workers {
            let (part, part_sets, part_names) = match worker.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let set_remap = sets.absorb(part_sets);
            let name_remap = names.absorb(part_names);
            states.extend(
                part.into_iter()
                    .map(|(key, state)| (key, remapped(state, &set_remap, &name_remap))),
            );
        }
        states
    })
}

fn read<'a>(
    sets: &mut Sets,
    names: &mut Names,
    pods: impl Iterator<Item = (&'a ObjectRef, &'a Arc<Pod>)>,
) -> Vec<(ObjectRef, PodState)> {
    pods.map(|(key, pod)| (key.clone(), pod_state(sets, names, key, Arc::clone(pod))))
        .collect()
}

/// `state`, read with a part's own tables, pointing into the merged ones instead.
fn remapped(mut state: PodState, sets: &SetRemap, names: &NameRemap) -> PodState {
    if let Labels::Set(set) = &mut state.labels
        && let Some(shared) = sets.get(&Arc::as_ptr(set))
    {
        *set = Arc::clone(shared);
    }
    if let Some(pod_names) = &mut state.names
        && let Some(shared) = names.namespace(&pod_names.namespace)
    {
        match Arc::get_mut(pod_names) {
            Some(unshared) => unshared.namespace = shared,
            None => {
                *pod_names = Arc::new(PodNames {
                    namespace: shared,
                    pod: pod_names.pod.clone(),
                });
            }
        }
    }
    if let Some(addresses) = &mut state.addresses
        && let Some(shared) = names.node(&addresses.node)
    {
        addresses.node = shared;
    }
    state
}

fn pod_names(names: &mut Names, key: &ObjectRef) -> Option<Arc<PodNames>> {
    let namespace = names.namespace(&key.namespace)?;
    let pod = DnsSubdomain::new(key.name.as_str()).ok()?;
    Some(Arc::new(PodNames { namespace, pod }))
}

/// `None` when the node or an IP does not parse: placing then reads the pod again for
/// the exact refusal, which is rare.
fn read_addresses(names: &mut Names, node: &str, ips: &[&str]) -> Option<Addresses> {
    let ips = ips
        .iter()
        .map(|ip| ip.parse().ok())
        .collect::<Option<_>>()?;
    let node = names.node(node)?;
    Some(Addresses { node, ips })
}
