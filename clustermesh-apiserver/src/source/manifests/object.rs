//! The objects a manifest file yields, and how each lands in [`ClusterObjects`].

use std::fmt;
use std::sync::Arc;

use k8s_openapi::Resource;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::source::{ClusterObjects, ObjectRef, ServiceExport};

/// One object read from a manifest file, with the line its document starts on (used to
/// point at duplicates).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceObject {
    pub line: usize,
    pub object: KubeObject,
}

/// The kinds the manifest source understands. Metadata is normalised: the name is
/// non-empty, namespaced kinds have a namespace and cluster-scoped ones have none.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "a few objects per file, built once per change; boxing would only complicate matching"
)]
pub enum KubeObject {
    Service(Service),
    EndpointSlice(EndpointSlice),
    Pod(Arc<Pod>),
    Node(Node),
    Namespace(Namespace),
    ServiceExport(ServiceExport),
}

/// Identity of an object across files, to find duplicates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub kind: &'static str,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl KubeObject {
    pub fn key(&self) -> ObjectKey {
        fn of(kind: &'static str, meta: &ObjectMeta) -> ObjectKey {
            ObjectKey {
                kind,
                namespace: meta.namespace.clone(),
                name: meta.name.clone().unwrap_or_default(),
            }
        }
        match self {
            Self::Service(o) => of(Service::KIND, &o.metadata),
            Self::EndpointSlice(o) => of(EndpointSlice::KIND, &o.metadata),
            Self::Pod(o) => of(Pod::KIND, &o.metadata),
            Self::Node(o) => of(Node::KIND, &o.metadata),
            Self::Namespace(o) => of(Namespace::KIND, &o.metadata),
            Self::ServiceExport(o) => ObjectKey {
                kind: "ServiceExport",
                namespace: Some(o.namespace.clone()),
                name: o.name.clone(),
            },
        }
    }
}

fn object_ref(namespace: Option<&String>, name: Option<&String>) -> ObjectRef {
    ObjectRef {
        namespace: namespace.cloned().unwrap_or_default(),
        name: name.cloned().unwrap_or_default(),
    }
}

impl KubeObject {
    /// Adds the object to the merged view under its key.
    pub(crate) fn insert_into(&self, objects: &mut ClusterObjects) {
        match self {
            KubeObject::Service(o) => {
                let key = object_ref(o.metadata.namespace.as_ref(), o.metadata.name.as_ref());
                objects.services.insert(key, o.clone());
            }
            KubeObject::EndpointSlice(o) => {
                let key = object_ref(o.metadata.namespace.as_ref(), o.metadata.name.as_ref());
                objects.endpoint_slices.insert(key, o.clone());
            }
            KubeObject::Pod(o) => {
                let key = object_ref(o.metadata.namespace.as_ref(), o.metadata.name.as_ref());
                objects.pods.insert(key, o.clone());
            }
            KubeObject::Node(o) => {
                let name = o.metadata.name.clone().unwrap_or_default();
                objects.nodes.insert(name, o.clone());
            }
            KubeObject::Namespace(o) => {
                let name = o.metadata.name.clone().unwrap_or_default();
                objects.namespaces.insert(name, o.clone());
            }
            KubeObject::ServiceExport(o) => {
                let key = object_ref(Some(&o.namespace), Some(&o.name));
                objects.service_exports.insert(key, o.clone());
            }
        }
    }
}
