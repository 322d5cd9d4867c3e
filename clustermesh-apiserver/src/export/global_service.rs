//! Global services: which Services are global, with what affinity and shared flag, and
//! this cluster's VIP, ports and backends for them.
//!
//! Annotations use our prefix; Cilium's spellings are accepted as aliases so users can
//! migrate without editing manifests. When both are set our prefix wins, and a
//! disagreement is a warning because one of the two is not doing what its author thinks.

use std::collections::BTreeMap;

use clustermesh_proto::{Affinity, ClusterName, GlobalService, pb};
use k8s_openapi::api::core::v1::Service;

use super::backends;
use super::{ObjectKind, Warning};
use crate::source::{ClusterObjects, ObjectRef};

pub const GLOBAL: &str = "clustermesh.io/global";
pub const SHARED: &str = "clustermesh.io/shared";
pub const AFFINITY: &str = "clustermesh.io/affinity";

/// Aliases in order of precedence, after our own key.
pub const GLOBAL_ALIASES: &[&str] = &["service.cilium.io/global", "io.cilium/global-service"];
pub const SHARED_ALIASES: &[&str] = &["service.cilium.io/shared"];
pub const AFFINITY_ALIASES: &[&str] = &["service.cilium.io/affinity"];

/// The global services of `objects`, sorted by namespace/name. A service that fails
/// validation (bad VIP, unnamed ports in a multi-port service, ...) is skipped with a
/// warning: half a service would send traffic to the wrong place.
pub fn export(
    cluster: &ClusterName,
    objects: &ClusterObjects,
    warnings: &mut Vec<Warning>,
) -> Vec<GlobalService> {
    let slices = backends::index(objects);
    objects
        .services
        .iter()
        .filter_map(|(key, svc)| {
            let exported = objects.service_exports.contains_key(key);
            service(cluster, key, svc, exported, &slices, warnings)
        })
        .collect()
}

fn service(
    cluster: &ClusterName,
    key: &ObjectRef,
    svc: &Service,
    has_service_export: bool,
    slices: &backends::SliceIndex<'_>,
    warnings: &mut Vec<Warning>,
) -> Option<GlobalService> {
    let empty = BTreeMap::new();
    let annotations = svc.metadata.annotations.as_ref().unwrap_or(&empty);
    let mut note = |message: String| warnings.push(Warning::new(ObjectKind::Service, key, message));

    let global = match annotation(annotations, GLOBAL, GLOBAL_ALIASES, &mut note) {
        Some((k, v)) => parse_bool(k, v, &mut note).unwrap_or(false),
        None => false,
    };
    // A ServiceExport is an explicit opt-in of its own, so it makes the service global
    // even when an annotation says "false".
    if !(global || has_service_export) {
        return None;
    }
    // An unreadable shared flag is read as "false": keeping backends local is the
    // mistake that is easy to notice and cannot leak traffic to other clusters.
    let shared = match annotation(annotations, SHARED, SHARED_ALIASES, &mut note) {
        Some((k, v)) => parse_bool(k, v, &mut note).unwrap_or(false),
        None => true,
    };
    let affinity = match annotation(annotations, AFFINITY, AFFINITY_ALIASES, &mut note) {
        Some((k, v)) => v.parse::<Affinity>().unwrap_or_else(|_| {
            note(format!(
                "annotation {k}: unknown affinity {v:?} (expected local, remote or none); using none"
            ));
            Affinity::None
        }),
        None => Affinity::None,
    };

    let spec = svc.spec.as_ref();
    let vip = spec
        .and_then(|s| s.cluster_ip.as_deref())
        .filter(|ip| !ip.is_empty() && *ip != "None")
        .unwrap_or_default();
    let ports = spec
        .and_then(|s| s.ports.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|p| pb::ServicePort {
            name: p.name.clone().unwrap_or_default(),
            // A negative port becomes 0, which validation refuses.
            port: u32::try_from(p.port).unwrap_or(0),
            protocol: backends::protocol(p.protocol.as_deref()),
        })
        .collect();
    let backends = match shared {
        true => backends::for_service(key, slices, warnings),
        // Not shared: peers must not see our backends, so none leave the cluster.
        false => Vec::new(),
    };
    let msg = pb::GlobalService {
        cluster: cluster.to_string(),
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        ports,
        vip: vip.to_owned(),
        affinity: pb::Affinity::from(affinity).into(),
        shared,
        backends,
    };
    match GlobalService::try_from(msg) {
        Ok(svc) => Some(svc),
        Err(e) => {
            let message = format!("not exported as a global service: {e}");
            warnings.push(Warning::new(ObjectKind::Service, key, message));
            None
        }
    }
}

/// The first of `ours` and `aliases` that is set, with its key. Aliases that disagree
/// with the winner are reported.
fn annotation<'a>(
    annotations: &'a BTreeMap<String, String>,
    ours: &'static str,
    aliases: &[&'static str],
    note: &mut impl FnMut(String),
) -> Option<(&'static str, &'a str)> {
    let mut set = std::iter::once(ours)
        .chain(aliases.iter().copied())
        .filter_map(|k| annotations.get(k).map(|v| (k, v.as_str())));
    let winner = set.next()?;
    for (k, v) in set {
        if v != winner.1 {
            note(format!(
                "annotation {k}={v:?} ignored: {}={:?} takes precedence",
                winner.0, winner.1
            ));
        }
    }
    Some(winner)
}

/// `"true"` or `"false"`, in any case, as Cilium reads these annotations.
fn parse_bool(key: &str, value: &str, note: &mut impl FnMut(String)) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        note(format!(
            "annotation {key}: {value:?} is not \"true\" or \"false\""
        ));
        None
    }
}

#[cfg(test)]
mod tests;
