use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU8;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clustermesh_proto::{ClusterId, IdentityId};

use super::{AllocError, IdentityAllocator};
use crate::export::LabelSet;
use crate::export::fixtures::{cluster, map};
use crate::store::Store;
use crate::store::memory::{MemoryStore, MemoryStoreConfig};

const CLUSTER_ID: ClusterId = ClusterId::new(NonZeroU8::new(3).expect("nonzero"));

fn store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new(MemoryStoreConfig::default()))
}

fn allocator(store: &Arc<dyn Store>) -> IdentityAllocator {
    IdentityAllocator::new(Arc::clone(store), cluster(), CLUSTER_ID)
}

fn set(app: &str) -> LabelSet {
    LabelSet::new("prod", map(&[("app", app)])).expect("valid labels")
}

fn locals(ids: &[IdentityId]) -> Vec<u16> {
    ids.iter().map(|id| id.local().get()).collect()
}

#[tokio::test]
async fn allocates_in_the_cluster_range_and_reuses() -> anyhow::Result<()> {
    let store = store();
    let alloc = allocator(&store);
    let web = alloc.allocate(&set("web")).await?;
    let db = alloc.allocate(&set("db")).await?;
    assert_eq!(web.get(), 3 << 16 | 1);
    assert_eq!(db.get(), 3 << 16 | 2);
    assert_eq!(alloc.allocate(&set("web")).await?, web);

    let by_labels = store
        .get("aws/identity-alloc/by-labels/prod;app=web")
        .await?;
    assert_eq!(by_labels.map(|kv| kv.value), Some(Bytes::from("1")));
    let claim = store.get("aws/identity-alloc/by-id/1").await?;
    assert_eq!(claim.map(|kv| kv.value), Some(Bytes::from("prod;app=web")));
    let next = store.get("aws/identity-alloc/next").await?;
    assert_eq!(next.map(|kv| kv.value), Some(Bytes::from("3")));
    Ok(())
}

#[tokio::test]
async fn ids_survive_a_new_allocator() -> anyhow::Result<()> {
    let store = store();
    let first = allocator(&store).allocate(&set("web")).await?;
    let again = allocator(&store);
    assert_eq!(again.allocate(&set("web")).await?, first);
    assert_ne!(again.allocate(&set("db")).await?, first);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_allocators_never_share_an_id() -> anyhow::Result<()> {
    let store = store();
    let mut tasks = tokio::task::JoinSet::new();
    for replica in 0..4 {
        let alloc = allocator(&store);
        tasks.spawn(async move {
            let mut got = Vec::new();
            // Overlapping sets in different orders, so replicas race on the same sets.
            for i in 0..40 {
                let app = format!("app-{}", (i * (replica + 1)) % 40);
                got.push((app.clone(), alloc.allocate(&set(&app)).await?));
            }
            Ok::<_, AllocError>(got)
        });
    }
    let mut by_set: BTreeMap<String, IdentityId> = BTreeMap::new();
    while let Some(result) = tasks.join_next().await {
        for (app, id) in result?? {
            let previous = by_set.insert(app.clone(), id);
            assert!(
                previous.is_none_or(|p| p == id),
                "{app} got {previous:?} and {id}"
            );
        }
    }
    let distinct: BTreeSet<IdentityId> = by_set.values().copied().collect();
    assert_eq!(
        distinct.len(),
        by_set.len(),
        "two sets share an id: {by_set:?}"
    );
    // Every loser released its claim: one claim per set, no leaks.
    let claims = store.list("aws/identity-alloc/by-id/").await?.items;
    assert_eq!(claims.len(), by_set.len());
    Ok(())
}

#[tokio::test]
async fn gc_frees_sets_unused_past_the_grace() -> anyhow::Result<()> {
    let store = store();
    let alloc = allocator(&store);
    let web = alloc.allocate(&set("web")).await?;
    let db = alloc.allocate(&set("db")).await?;
    let in_use = BTreeSet::from([set("web")]);
    let grace = Duration::from_secs(60);
    let t0 = Instant::now();

    assert!(
        alloc.gc_at(&in_use, grace, t0).await?.is_empty(),
        "grace starts now"
    );
    let early = t0 + Duration::from_secs(59);
    assert!(alloc.gc_at(&in_use, grace, early).await?.is_empty());
    let freed = alloc.gc_at(&in_use, grace, t0 + grace).await?;
    assert_eq!(freed, [db]);
    assert!(
        store
            .get("aws/identity-alloc/by-labels/prod;app=db")
            .await?
            .is_none()
    );
    assert!(store.get("aws/identity-alloc/by-id/2").await?.is_none());
    assert_eq!(alloc.allocate(&set("web")).await?, web, "in use: kept");
    Ok(())
}

#[tokio::test]
async fn use_again_restarts_the_grace() -> anyhow::Result<()> {
    let store = store();
    let alloc = allocator(&store);
    alloc.allocate(&set("web")).await?;
    let grace = Duration::from_secs(60);
    let t0 = Instant::now();
    let none = BTreeSet::new();
    let web = BTreeSet::from([set("web")]);
    alloc.gc_at(&none, grace, t0).await?;
    alloc
        .gc_at(&web, grace, t0 + Duration::from_secs(30))
        .await?;
    assert!(
        alloc
            .gc_at(&none, grace, t0 + Duration::from_secs(61))
            .await?
            .is_empty()
    );
    assert_eq!(
        alloc
            .gc_at(&none, grace, t0 + Duration::from_secs(121))
            .await?
            .len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn freed_ids_are_reused_after_wrapping() -> anyhow::Result<()> {
    let store = store();
    let alloc = allocator(&store);
    let a = alloc.allocate(&set("a")).await?;
    alloc.allocate(&set("b")).await?;
    assert_eq!(
        alloc
            .gc_at(&BTreeSet::from([set("b")]), Duration::ZERO, Instant::now())
            .await?,
        [a]
    );
    store
        .put("aws/identity-alloc/next", Bytes::from("65535"), None)
        .await?;
    let last = alloc.allocate(&set("c")).await?;
    let wrapped = alloc.allocate(&set("d")).await?;
    let skipped = alloc.allocate(&set("e")).await?;
    assert_eq!(
        locals(&[last, wrapped, skipped]),
        [65535, 1, 3],
        "2 is still taken"
    );
    Ok(())
}

#[tokio::test]
async fn orphan_claims_are_collected_on_a_later_pass() -> anyhow::Result<()> {
    let store = store();
    let alloc = allocator(&store);
    store
        .put(
            "aws/identity-alloc/by-id/7",
            Bytes::from("prod;app=x"),
            None,
        )
        .await?;
    let now = Instant::now();
    alloc.gc_at(&BTreeSet::new(), Duration::ZERO, now).await?;
    assert!(
        store.get("aws/identity-alloc/by-id/7").await?.is_some(),
        "may be in flight"
    );
    alloc.gc_at(&BTreeSet::new(), Duration::ZERO, now).await?;
    assert!(store.get("aws/identity-alloc/by-id/7").await?.is_none());
    Ok(())
}

#[tokio::test]
async fn corrupt_entries_are_errors() -> anyhow::Result<()> {
    let store = store();
    store
        .put(
            "aws/identity-alloc/by-labels/prod;app=web",
            Bytes::from("zero"),
            None,
        )
        .await?;
    let err = allocator(&store)
        .allocate(&set("web"))
        .await
        .expect_err("corrupt");
    assert!(matches!(err, AllocError::Corrupt { .. }), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_on_one_set_agrees_and_leaks_no_claim() -> anyhow::Result<()> {
    let store = store();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let alloc = allocator(&store);
        tasks.spawn(async move { alloc.allocate(&set("web")).await });
    }
    let mut ids = BTreeSet::new();
    while let Some(result) = tasks.join_next().await {
        ids.insert(result??);
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        store.list("aws/identity-alloc/by-id/").await?.items.len(),
        1
    );
    Ok(())
}

#[tokio::test]
async fn a_corrupt_hint_is_overwritten() -> anyhow::Result<()> {
    let store = store();
    store
        .put("aws/identity-alloc/next", Bytes::from("junk"), None)
        .await?;
    let id = allocator(&store).allocate(&set("web")).await?;
    assert_eq!(id.local().get(), 1);
    let next = store.get("aws/identity-alloc/next").await?;
    assert_eq!(next.map(|kv| kv.value), Some(Bytes::from("2")));
    Ok(())
}

fn sets(apps: impl IntoIterator<Item = String>) -> BTreeSet<LabelSet> {
    apps.into_iter().map(|app| set(&app)).collect()
}

#[tokio::test]
async fn many_at_once_reuse_what_exists_and_agree_with_one_at_a_time() -> anyhow::Result<()> {
    let store = store();
    let alloc = allocator(&store);
    let web = alloc.allocate(&set("web")).await?;
    let wanted = sets(
        (0..50)
            .map(|i| format!("app-{i}"))
            .chain(["web".to_owned()]),
    );
    let ids = alloc.allocate_many(&wanted).await?;
    assert_eq!(ids.len(), wanted.len());
    assert_eq!(ids[&set("web")], web, "an existing set keeps its id");
    let distinct: BTreeSet<IdentityId> = ids.values().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "two sets share an id: {ids:?}");
    let fresh = allocator(&store);
    for (set, id) in &ids {
        assert_eq!(fresh.allocate(set).await?, *id, "{set} is published");
    }
    let claims = store.list("aws/identity-alloc/by-id/").await?.items;
    assert_eq!(claims.len(), ids.len(), "one claim per set");
    assert_eq!(
        alloc.allocate(&set("later")).await?.local().get(),
        52,
        "the hint moved past the bulk"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_at_once_racing_other_allocators_never_share_an_id() -> anyhow::Result<()> {
    let store = store();
    let mut tasks = tokio::task::JoinSet::new();
    for replica in 0..4usize {
        let alloc = allocator(&store);
        tasks.spawn(async move {
            // Overlapping sets: replicas race on the same sets and the same free ids.
            let wanted = sets((0..60).map(|i| format!("app-{}", (i * (replica + 1)) % 60)));
            if replica % 2 == 0 {
                return alloc.allocate_many(&wanted).await;
            }
            let mut got = BTreeMap::new();
            for set in wanted {
                let id = alloc.allocate(&set).await?;
                got.insert(set, id);
            }
            Ok::<_, AllocError>(got)
        });
    }
    let mut by_set: BTreeMap<LabelSet, IdentityId> = BTreeMap::new();
    while let Some(result) = tasks.join_next().await {
        for (set, id) in result?? {
            let previous = by_set.insert(set.clone(), id);
            assert!(
                previous.is_none_or(|p| p == id),
                "{set} got {previous:?} and {id}"
            );
        }
    }
    let distinct: BTreeSet<IdentityId> = by_set.values().copied().collect();
    assert_eq!(distinct.len(), by_set.len(), "two sets share an id");
    let claims = store.list("aws/identity-alloc/by-id/").await?.items;
    assert_eq!(claims.len(), by_set.len(), "every loser released its claim");
    Ok(())
}

#[tokio::test]
async fn many_at_once_refuse_when_too_few_ids_are_free() -> anyhow::Result<()> {
    let store = store();
    // Every id but two is claimed.
    let claims: Vec<crate::store::WriteOp> = (3..=u16::MAX)
        .map(|local| crate::store::WriteOp::Put {
            key: format!("aws/identity-alloc/by-id/{local}"),
            value: Bytes::from(format!("prod;app=taken-{local}")),
            lease: None,
        })
        .collect();
    for chunk in claims.chunks(store.max_batch_ops()) {
        store.write_batch(chunk.to_vec()).await?;
    }
    let alloc = allocator(&store);
    let err = alloc
        .allocate_many(&sets(["a", "b", "c"].map(String::from)))
        .await
        .expect_err("three sets, two free ids");
    assert!(matches!(err, AllocError::Exhausted { .. }), "{err}");
    let two = alloc
        .allocate_many(&sets(["a", "b"].map(String::from)))
        .await?;
    assert_eq!(locals(&two.into_values().collect::<Vec<_>>()), [1, 2]);
    Ok(())
}
