//! The rule for one pod: whether its endpoints are exported, under which identity, and
//! why not. Both ways of placing pods (one at a time, and a whole first snapshot in one
//! pass) go through it, so they cannot disagree.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use clustermesh_proto::{ClusterName, IdentityId};

use super::claims::{Claim, PodNames};
use super::names::Names;
use super::{Labels, PodState};
use crate::export::LabelSet;
use crate::export::endpoints::{addresses, endpoint};
use crate::source::ObjectRef;

pub(super) enum Outcome {
    /// Nothing to export, rightly or with a warning.
    Nothing,
    /// Its label set has no id yet: placed by a later resolve, after allocation.
    Wait,
    Placed {
        id: IdentityId,
        set: Arc<LabelSet>,
        claims: Vec<(IpAddr, Claim)>,
    },
}

pub(super) struct Placement {
    pub outcome: Outcome,
    pub warnings: Vec<String>,
}

/// Where the rule reads what is placed already and shared names from.
pub(super) struct Context<'a> {
    pub cluster: &'a ClusterName,
    pub placed_ids: &'a BTreeMap<IdentityId, (Arc<LabelSet>, usize)>,
    pub names: &'a mut Names,
}

pub(super) fn place(
    cx: &mut Context<'_>,
    key: &ObjectRef,
    state: &PodState,
    id_of: impl FnOnce(&LabelSet) -> Option<IdentityId>,
) -> Placement {
    let mut warnings = Vec::new();
    let outcome = match &state.labels {
        Labels::Nothing => Outcome::Nothing,
        Labels::Bad(e) => {
            warnings.push(format!("not exported: labels: {e}"));
            Outcome::Nothing
        }
        Labels::Set(set) => match id_of(set) {
            None => {
                warnings.push(format!("not exported yet: no identity allocated for {set}"));
                Outcome::Wait
            }
            Some(id) => match cx.placed_ids.get(&id) {
                Some((other, _)) if other != set => {
                    warnings.push(format!(
                        "not exported: identity {id} is already used by {other}"
                    ));
                    Outcome::Nothing
                }
                _ => {
                    let claims = match (&state.addresses, &state.names) {
                        (Some(read), Some(who)) => (read.ips.iter())
                            .map(|ip| {
                                let claim = Claim {
                                    who: Arc::clone(who),
                                    node: Arc::clone(&read.node),
                                    identity: id,
                                };
                                (*ip, claim)
                            })
                            .collect(),
                        _ => reread(cx, key, state, id, &mut warnings),
                    };
                    Outcome::Placed {
                        id,
                        set: Arc::clone(set),
                        claims,
                    }
                }
            },
        },
    };
    Placement { outcome, warnings }
}

/// The claims of a pod whose names or addresses did not all parse when it was
/// observed: read again, each address claimed or refused on its own.
fn reread(
    cx: &mut Context<'_>,
    key: &ObjectRef,
    state: &PodState,
    id: IdentityId,
    warnings: &mut Vec<String>,
) -> Vec<(IpAddr, Claim)> {
    let (node, ips) = addresses(&state.pod);
    let mut claims = Vec::with_capacity(ips.len());
    for ip in ips {
        match claim(cx, key, state.names.as_ref(), node, ip, id) {
            Ok(claim) => claims.push(claim),
            Err(message) => warnings.push(message),
        }
    }
    claims
}

/// The claim of one address; the refusal is the one [`endpoint`] gives, word for word.
fn claim(
    cx: &mut Context<'_>,
    key: &ObjectRef,
    names: Option<&Arc<PodNames>>,
    node: &str,
    ip: &str,
    id: IdentityId,
) -> Result<(IpAddr, Claim), String> {
    let parsed = ip.parse::<IpAddr>().ok();
    if let (Some(ip), Some(who), Some(node)) = (parsed, names, cx.names.node(node)) {
        let claim = Claim {
            who: Arc::clone(who),
            node,
            identity: id,
        };
        return Ok((ip, claim));
    }
    match endpoint(cx.cluster, key, node, ip, id) {
        Err(message) => Err(message),
        // Unreachable when the checks above match the record's own validation; if they
        // ever drift, the record's word is the one that counts.
        Ok(e) => {
            let who = Arc::new(PodNames {
                namespace: Arc::new(e.namespace),
                pod: e.pod,
            });
            let node = Arc::new(e.node);
            Ok((
                e.ip,
                Claim {
                    who,
                    node,
                    identity: id,
                },
            ))
        }
    }
}
