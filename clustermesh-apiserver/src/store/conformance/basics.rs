//! Single-key semantics: revisions, get/put/delete, compare-and-swap, bad input.

use std::sync::Arc;

use super::util::val;
use crate::store::{Cas, CasAction, CasOutcome, Store, StoreError, WriteOp};

pub async fn put_get_delete_roundtrip(store: Arc<dyn Store>) {
    assert_eq!(store.get("t/a").await.expect("get"), None);
    let r1 = store.put("t/a", val("1"), None).await.expect("put");
    let r2 = store.put("t/a", val("2"), None).await.expect("put");
    assert_eq!(r2, r1 + 1, "every write advances the revision by one");

    let kv = store.get("t/a").await.expect("get").expect("t/a exists");
    assert_eq!(kv.value, val("2"));
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.lease),
        (r1, r2, None)
    );

    let gone = store.delete("t/a").await.expect("delete");
    assert_eq!((gone.deleted, gone.revision), (1, r2 + 1));
    assert_eq!(store.get("t/a").await.expect("get"), None);

    let again = store.delete("t/a").await.expect("delete absent");
    assert_eq!(again.deleted, 0);
    assert_eq!(
        again.revision,
        r2 + 1,
        "deleting nothing does not advance the revision"
    );

    let r4 = store.put("t/a", val("3"), None).await.expect("put");
    assert_eq!(r4, r2 + 2);
    let kv = store.get("t/a").await.expect("get").expect("t/a exists");
    assert_eq!(kv.create_revision, r4, "a recreated key starts a new life");
}

pub async fn cas_conflicts_and_swaps(store: Arc<dyn Store>) {
    let create = |value: &str| Cas {
        key: "c/k".into(),
        expected_mod_revision: None,
        action: CasAction::Put {
            value: val(value),
            lease: None,
        },
    };
    let CasOutcome::Swapped { revision: r1 } =
        store.compare_and_swap(create("a")).await.expect("cas")
    else {
        panic!("create-if-absent on an absent key must swap");
    };
    match store.compare_and_swap(create("b")).await.expect("cas") {
        CasOutcome::Conflict { current: Some(kv) } => {
            assert_eq!((kv.value, kv.mod_revision), (val("a"), r1))
        }
        other => panic!("create-if-absent on a present key must conflict, got {other:?}"),
    }

    let update = |expected: i64, value: &str| Cas {
        key: "c/k".into(),
        expected_mod_revision: Some(expected),
        action: CasAction::Put {
            value: val(value),
            lease: None,
        },
    };
    let CasOutcome::Swapped { revision: r2 } =
        store.compare_and_swap(update(r1, "b")).await.expect("cas")
    else {
        panic!("update at the current mod revision must swap");
    };
    let stale = store.compare_and_swap(update(r1, "c")).await.expect("cas");
    assert!(
        matches!(stale, CasOutcome::Conflict { .. }),
        "stale update: {stale:?}"
    );
    assert_eq!(
        store.get("c/k").await.expect("get").map(|kv| kv.value),
        Some(val("b"))
    );

    let delete = Cas {
        key: "c/k".into(),
        expected_mod_revision: Some(r2),
        action: CasAction::Delete,
    };
    let deleted = store.compare_and_swap(delete).await.expect("cas delete");
    assert!(matches!(deleted, CasOutcome::Swapped { .. }), "{deleted:?}");
    assert_eq!(store.get("c/k").await.expect("get"), None);

    // Racing creators: exactly one wins.
    let mut racers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = store.clone();
        racers.spawn(async move {
            let cas = Cas {
                key: "c/race".into(),
                expected_mod_revision: None,
                action: CasAction::Put {
                    value: val(format!("racer-{i}")),
                    lease: None,
                },
            };
            store.compare_and_swap(cas).await.expect("cas")
        });
    }
    let outcomes = racers.join_all().await;
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, CasOutcome::Swapped { .. }))
        .count();
    assert_eq!(winners, 1, "outcomes: {outcomes:?}");

    // Concurrent read-modify-write increments lose nothing.
    store.put("c/counter", val("0"), None).await.expect("put");
    let mut incrementers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let store = store.clone();
        incrementers.spawn(async move {
            for _ in 0..10 {
                loop {
                    let kv = store.get("c/counter").await.expect("get").expect("counter");
                    let n: u64 = std::str::from_utf8(&kv.value)
                        .expect("utf8")
                        .parse()
                        .expect("number");
                    let cas = Cas {
                        key: "c/counter".into(),
                        expected_mod_revision: Some(kv.mod_revision),
                        action: CasAction::Put {
                            value: val((n + 1).to_string()),
                            lease: None,
                        },
                    };
                    if let CasOutcome::Swapped { .. } =
                        store.compare_and_swap(cas).await.expect("cas")
                    {
                        break;
                    }
                }
            }
        });
    }
    incrementers.join_all().await;
    let kv = store.get("c/counter").await.expect("get").expect("counter");
    assert_eq!(kv.value, val("40"));
}

pub async fn invalid_requests_are_rejected(store: Arc<dyn Store>) {
    let good = store.put("i/good", val("kept"), None).await.expect("put");

    let err = store.put("", val("x"), None).await.expect_err("empty key");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");

    let too_many = (0..=store.max_batch_ops())
        .map(|i| WriteOp::Put {
            key: format!("i/many/{i}"),
            value: val("x"),
            lease: None,
        })
        .collect();
    let err = store
        .write_batch(too_many)
        .await
        .expect_err("oversized batch");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");

    let dup = vec![
        WriteOp::Put {
            key: "i/dup".into(),
            value: val("1"),
            lease: None,
        },
        WriteOp::Delete {
            key: "i/dup".into(),
        },
    ];
    let err = store.write_batch(dup).await.expect_err("duplicate keys");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");

    let err = store
        .compact(good + 1_000)
        .await
        .expect_err("compact the future");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");

    let err = store
        .grant_lease(std::time::Duration::ZERO)
        .await
        .expect_err("zero TTL");
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");

    // Nothing that was good is lost, and the store still takes writes.
    let kv = store
        .get("i/good")
        .await
        .expect("get")
        .expect("i/good survives");
    assert_eq!((kv.value, kv.mod_revision), (val("kept"), good));
    assert!(store.list("i/many/").await.expect("list").items.is_empty());
    assert_eq!(
        store.put("i/after", val("y"), None).await.expect("put"),
        good + 1
    );
}
