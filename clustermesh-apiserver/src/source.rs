//! Where a cluster's state comes from: a directory of manifests (the embedded default,
//! used by the demo and tests) or the Kubernetes API. Both produce [`ClusterObjects`].

pub mod kube;
pub mod manifests;
mod objects;

pub use manifests::{ManifestError, ManifestSource, SourceError, SourceState};
pub use objects::{ClusterObjects, ObjectRef, ServiceExport};
