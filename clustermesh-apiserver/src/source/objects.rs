//! The Kubernetes objects a cluster's state is read from, as both sources (a manifest
//! directory and the Kubernetes API) deliver them. Everything after the source — the
//! export rules, the index — works on this one model.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::{Deserialize, Serialize};

/// `namespace/name` of a namespaced object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// An MCS-API `ServiceExport` (multicluster.x-k8s.io/v1alpha1). Only its name matters:
/// it marks the Service of the same namespace/name as global.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceExport {
    pub namespace: String,
    pub name: String,
}

/// Every object of one cluster that clustermesh reads, keyed for deterministic order.
///
/// Pods are shared: they are the one kind counted in hundreds of thousands, so a
/// snapshot costs a reference per pod rather than a deep copy, and the exporter tells
/// an unchanged pod from a changed one by pointer (see `export::EndpointIndex`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterObjects {
    pub services: BTreeMap<ObjectRef, Service>,
    pub endpoint_slices: BTreeMap<ObjectRef, EndpointSlice>,
    pub pods: BTreeMap<ObjectRef, Arc<Pod>>,
    pub nodes: BTreeMap<String, Node>,
    pub namespaces: BTreeMap<String, Namespace>,
    pub service_exports: BTreeMap<ObjectRef, ServiceExport>,
}
