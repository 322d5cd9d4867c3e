//! The export rules: which records this cluster publishes, derived purely from its
//! Kubernetes objects (DESIGN.md, "Data flow" step 2 and "Global services").
//!
//! Everything here except [`allocator`] is synchronous and free of I/O: the caller hands
//! in a [`ClusterObjects`] snapshot and gets back an [`ExportPlan`]. Bad input never
//! panics and never fails the whole plan; the offending object (or just the offending
//! field, where the rest is still meaningful) is left out and a [`Warning`] says why, so
//! one malformed manifest cannot take down the export of everything else.
//!
//! Records are built as their wire form and converted with `TryFrom<pb::…>`, so they pass
//! exactly the validation a peer applies on import: we never export what a peer would
//! refuse.

pub mod allocator;
pub mod backends;
pub mod endpoints;
pub mod global_service;
pub mod identities;
pub mod nodes;

use std::fmt;

use clustermesh_proto::{ClusterName, Endpoint, GlobalService, Identity, IdentityId, Node};

use crate::source::ClusterObjects;

pub use allocator::{AllocError, IdentityAllocator};
pub use endpoints::{EndpointIndex, RecordChange};
pub use identities::{INSTANCE_LABELS, LabelSet};

/// The kind of object a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    Service,
    EndpointSlice,
    Node,
    Pod,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Service => "service",
            Self::EndpointSlice => "endpointslice",
            Self::Node => "node",
            Self::Pod => "pod",
        })
    }
}

/// Something in the input that was ignored or fixed up. Returned next to the records
/// rather than logged here, so the rules stay pure and tests can assert on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: ObjectKind,
    /// `namespace/name`, or just the name for nodes.
    pub object: String,
    pub message: String,
}

impl Warning {
    pub fn new(kind: ObjectKind, object: impl fmt::Display, message: impl Into<String>) -> Self {
        Self {
            kind,
            object: object.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.object, self.message)
    }
}

/// Everything one cluster exports, in deterministic order (by name, IP or id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportPlan {
    pub nodes: Vec<Node>,
    pub identities: Vec<Identity>,
    pub endpoints: Vec<Endpoint>,
    pub services: Vec<GlobalService>,
    pub warnings: Vec<Warning>,
}

/// Computes the export of `cluster` from `objects`.
///
/// `identities` resolves a pod's label set to its allocated id (allocation needs the
/// store, so it happens before: see [`identities::in_use`] and [`IdentityAllocator`]).
/// A pod whose label set has no id yet is left out with a warning; the next plan, after
/// allocation, includes it.
pub fn plan(
    cluster: &ClusterName,
    objects: &ClusterObjects,
    identities: &impl Fn(&LabelSet) -> Option<IdentityId>,
) -> ExportPlan {
    let mut warnings = Vec::new();
    let nodes = nodes::export(cluster, objects, &mut warnings);
    let (identities, endpoints) = endpoints::export(cluster, objects, identities, &mut warnings);
    let services = global_service::export(cluster, objects, &mut warnings);
    ExportPlan {
        nodes,
        identities,
        endpoints,
        services,
        warnings,
    }
}

/// The records that do not come from pods: nodes and global services. They number in
/// thousands at most, so the exporter recomputes them every round, while endpoints and
/// identities go through an [`EndpointIndex`].
pub fn plan_without_pods(cluster: &ClusterName, objects: &ClusterObjects) -> ExportPlan {
    let mut warnings = Vec::new();
    let nodes = nodes::export(cluster, objects, &mut warnings);
    let services = global_service::export(cluster, objects, &mut warnings);
    ExportPlan {
        nodes,
        services,
        warnings,
        ..ExportPlan::default()
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
