use super::fixtures::*;
use super::identities::in_use;
use super::{ExportPlan, plan};
use crate::source::ClusterObjects;

fn objects() -> ClusterObjects {
    let mut objects = ClusterObjects::default();
    let n1 = node(&[], &[("InternalIP", "192.168.1.7")], &["10.1.0.0/24"]);
    objects.nodes.insert("n1".into(), n1);
    objects.pods.insert(
        key("prod", "web-1"),
        pod(&[("app", "web")], &["10.1.0.5"]).into(),
    );
    with_service(
        &mut objects,
        service(&[("clustermesh.io/global", "true")], "10.96.0.10"),
    );
    with_slice(
        &mut objects,
        slice("web-1", "IPv4", vec![endpoint("10.1.0.5", "n1", None)]),
    );
    objects
}

#[test]
fn plan_exports_every_kind() {
    let objects = objects();
    let resolve = resolver(in_use(&objects).into_iter().collect());
    let plan = plan(&cluster(), &objects, &resolve);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(plan.nodes.len(), 1);
    assert_eq!(plan.identities.len(), 1);
    assert_eq!(plan.endpoints.len(), 1);
    assert_eq!(plan.services.len(), 1);
    assert_eq!(plan.endpoints[0].identity, plan.identities[0].id);
}

#[test]
fn plan_is_deterministic_and_empty_for_nothing() {
    let objects = objects();
    let resolve = resolver(in_use(&objects).into_iter().collect());
    assert_eq!(
        plan(&cluster(), &objects, &resolve),
        plan(&cluster(), &objects, &resolve)
    );
    let empty = plan(&cluster(), &ClusterObjects::default(), &|_| None);
    assert_eq!(empty, ExportPlan::default());
}

#[test]
fn warnings_name_their_object() {
    let mut objects = objects();
    let annotations = [
        ("clustermesh.io/global", "true"),
        ("clustermesh.io/affinity", "closest"),
    ];
    with_service(&mut objects, service(&annotations, "10.96.0.10"));
    let plan = plan(&cluster(), &objects, &|_| None);
    let shown: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].starts_with("pod prod/web-1: "), "{shown:?}");
    assert!(
        shown[1].starts_with("service prod/web: annotation clustermesh.io/affinity"),
        "{shown:?}"
    );
}

#[tokio::test]
async fn allocate_then_plan() -> anyhow::Result<()> {
    use std::num::NonZeroU8;
    use std::sync::Arc;

    use clustermesh_proto::ClusterId;

    use crate::export::IdentityAllocator;
    use crate::store::memory::{MemoryStore, MemoryStoreConfig};

    let objects = objects();
    let store = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
    let cluster_id = ClusterId::new(NonZeroU8::new(9).expect("nonzero"));
    let alloc = IdentityAllocator::new(store, cluster(), cluster_id);
    let ids = alloc.allocate_many(&in_use(&objects)).await?;
    let plan = plan(&cluster(), &objects, &|set| ids.get(set).copied());
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(plan.endpoints[0].identity.get(), 9 << 16 | 1);
    Ok(())
}
