//! Leases: expiry deletes bound keys (and watchers see it), keep-alive, revoke.

use std::sync::Arc;
use std::time::Duration;

use super::util::{collect_until, eventually, val};
use crate::store::{Event, LeaseId, Store, StoreError};

pub async fn lease_expiry_deletes_keys_and_emits_deletes(store: Arc<dyn Store>) {
    let lease = store
        .grant_lease(Duration::from_secs(1))
        .await
        .expect("grant");
    store.put("l/a", val("a"), Some(lease)).await.expect("put");
    store.put("l/b", val("b"), Some(lease)).await.expect("put");
    let start = store.put("l/plain", val("p"), None).await.expect("put");
    assert_eq!(
        store.get("l/a").await.expect("get").and_then(|kv| kv.lease),
        Some(lease)
    );
    let mut watch = store.watch("l/", start).await.expect("watch");

    eventually("leased keys expire", || async {
        store.list("l/").await.expect("list").items.len() == 1
    })
    .await;
    let listed = store.list("l/").await.expect("list");
    assert_eq!(listed.items[0].key, "l/plain");

    let events = collect_until(&mut watch, start + 1, "expiry deletes").await;
    let mut deleted: Vec<&str> = events
        .iter()
        .filter(|e| matches!(e, Event::Delete { .. }))
        .map(Event::key)
        .collect();
    deleted.sort();
    assert_eq!(deleted, ["l/a", "l/b"], "{events:?}");

    let err = store.keep_alive(lease).await.expect_err("expired lease");
    assert!(matches!(err, StoreError::LeaseNotFound(_)), "{err:?}");
    let err = store
        .put("l/late", val("x"), Some(lease))
        .await
        .expect_err("put on expired lease");
    assert!(matches!(err, StoreError::LeaseNotFound(_)), "{err:?}");
}

pub async fn lease_keep_alive_and_revoke(store: Arc<dyn Store>) {
    let lease = store
        .grant_lease(Duration::from_secs(2))
        .await
        .expect("grant");
    store
        .put("k/held", val("x"), Some(lease))
        .await
        .expect("put");

    // Refresh at an eighth of the TTL for twice the TTL: the key must never vanish.
    let until = tokio::time::Instant::now() + Duration::from_secs(4);
    while tokio::time::Instant::now() < until {
        store.keep_alive(lease).await.expect("keep-alive");
        assert!(
            store.get("k/held").await.expect("get").is_some(),
            "kept-alive key vanished"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    store.revoke_lease(lease).await.expect("revoke");
    assert_eq!(
        store.get("k/held").await.expect("get"),
        None,
        "revoke deletes at once"
    );
    let err = store.revoke_lease(lease).await.expect_err("revoke twice");
    assert!(matches!(err, StoreError::LeaseNotFound(_)), "{err:?}");
}

pub async fn put_with_unknown_lease_fails(store: Arc<dyn Store>) {
    let before = store.put("u/first", val("x"), None).await.expect("put");
    let err = store
        .put("u/orphan", val("x"), Some(LeaseId(0x7fff_0000_4321)))
        .await
        .expect_err("unknown lease");
    assert!(matches!(err, StoreError::LeaseNotFound(_)), "{err:?}");
    assert_eq!(store.get("u/orphan").await.expect("get"), None);
    assert_eq!(store.list("u/").await.expect("list").revision, before);
}
