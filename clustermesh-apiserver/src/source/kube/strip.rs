//! What is dropped from objects before they are stored, to keep memory down and to keep
//! writes that change nothing we read from publishing a new generation.
//!
//! Only fields no export rule reads are touched: `managedFields` (often half of the
//! metadata), kubectl's last-applied copy of the whole object, and `resourceVersion`
//! (it changes on every write; the watcher has already taken what it needs from it, as
//! `modify` runs after it). Nodes also lose their image list and condition heartbeats,
//! which the kubelet rewrites every few minutes without anything else changing.

use ::kube::ResourceExt;
use ::kube::core::DynamicObject;
use k8s_openapi::api::core::v1::Node;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

pub(crate) fn metadata<K: ResourceExt>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    meta.resource_version = None;
    if let Some(annotations) = meta.annotations.as_mut()
        && annotations.remove(LAST_APPLIED).is_some()
        && annotations.is_empty()
    {
        meta.annotations = None;
    }
}

pub(crate) fn node(node: &mut Node) {
    metadata(node);
    if let Some(status) = node.status.as_mut() {
        status.images = None;
        for condition in status.conditions.iter_mut().flatten() {
            condition.last_heartbeat_time = None;
        }
    }
}

/// Only the name of a ServiceExport matters; its spec and status are dropped.
pub(crate) fn service_export(export: &mut DynamicObject) {
    metadata(export);
    export.data = Default::default();
}
