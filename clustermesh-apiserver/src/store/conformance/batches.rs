//! Multi-key writes: batches and prefix deletes apply whole, at one revision.

use std::sync::Arc;

use super::util::{collect_until, val};
use crate::store::{Event, LeaseId, Store, StoreError, WriteOp};

pub async fn delete_prefix_is_one_revision(store: Arc<dyn Store>) {
    for i in 0..5 {
        store
            .put(&format!("p/{i}"), val("x"), None)
            .await
            .expect("put");
    }
    let kept = store.put("q/0", val("x"), None).await.expect("put");
    let mut watch = store.watch("p/", kept).await.expect("watch");

    let outcome = store.delete_prefix("p/").await.expect("delete_prefix");
    assert_eq!((outcome.deleted, outcome.revision), (5, kept + 1));
    assert!(store.list("p/").await.expect("list").items.is_empty());
    assert_eq!(store.list("q/").await.expect("list").items.len(), 1);

    let events = collect_until(&mut watch, outcome.revision, "prefix delete").await;
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Event::Delete { revision, .. } if *revision == outcome.revision)),
        "{events:?}"
    );

    let none = store.delete_prefix("p/").await.expect("delete_prefix");
    assert_eq!((none.deleted, none.revision), (0, outcome.revision));
}

pub async fn write_batch_is_atomic(store: Arc<dyn Store>) {
    let base = store.put("b/doomed", val("x"), None).await.expect("put");
    let ops = vec![
        WriteOp::Put {
            key: "b/1".into(),
            value: val("one"),
            lease: None,
        },
        WriteOp::Put {
            key: "b/2".into(),
            value: val("two"),
            lease: None,
        },
        WriteOp::Delete {
            key: "b/doomed".into(),
        },
    ];
    let rev = store.write_batch(ops).await.expect("batch");
    assert_eq!(rev, base + 1, "a batch is one revision");
    let listed = store.list("b/").await.expect("list");
    let keys: Vec<&str> = listed.items.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["b/1", "b/2"]);
    assert!(listed.items.iter().all(|kv| kv.mod_revision == rev));

    // One bad op fails the whole batch, and nothing of it is visible.
    let bad = vec![
        WriteOp::Put {
            key: "b/3".into(),
            value: val("three"),
            lease: None,
        },
        WriteOp::Put {
            key: "b/4".into(),
            value: val("four"),
            lease: Some(LeaseId(0x7fff_0000_1234)),
        },
    ];
    let err = store.write_batch(bad).await.expect_err("unknown lease");
    assert!(matches!(err, StoreError::LeaseNotFound(_)), "{err:?}");
    assert_eq!(store.get("b/3").await.expect("get"), None);
    assert_eq!(store.list("b/").await.expect("list").revision, rev);
}
