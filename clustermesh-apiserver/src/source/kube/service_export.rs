//! ServiceExport (MCS API) read as a dynamic object: its CRD may be absent, and we need no
//! generated type for an object of which only the name matters.

use ::kube::core::{ApiResource, DynamicObject};

use crate::source::{ObjectRef, ServiceExport};

pub(crate) fn api_resource() -> ApiResource {
    ApiResource {
        group: "multicluster.x-k8s.io".to_owned(),
        version: "v1alpha1".to_owned(),
        api_version: "multicluster.x-k8s.io/v1alpha1".to_owned(),
        kind: "ServiceExport".to_owned(),
        plural: "serviceexports".to_owned(),
    }
}

/// `None` for an object without a namespace or name, which a conforming API server never
/// sends for this namespaced kind.
pub(crate) fn convert(obj: &DynamicObject) -> Option<(ObjectRef, ServiceExport)> {
    let namespace = obj.metadata.namespace.clone()?;
    let name = obj.metadata.name.clone()?;
    let key = ObjectRef {
        namespace: namespace.clone(),
        name: name.clone(),
    };
    Some((key, ServiceExport { namespace, name }))
}
