//! Size: 1 MiB values and 100k-key listings.

use std::sync::Arc;

use super::util::{blob, collect_until};
use crate::store::{Store, WriteOp};

const MIB: usize = 1 << 20;

pub async fn large_values_roundtrip(store: Arc<dyn Store>) {
    let start = store.list("big/").await.expect("list").revision;
    let mut watch = store.watch("big/", start).await.expect("watch");
    let mut last = start;
    for i in 0..3u64 {
        last = store
            .put(&format!("big/{i}"), blob(MIB, i), None)
            .await
            .expect("put 1 MiB");
    }
    let kv = store.get("big/1").await.expect("get").expect("big/1");
    assert!(kv.value == blob(MIB, 1), "1 MiB value read back intact");

    let listed = store.list("big/").await.expect("list 3 MiB");
    assert_eq!(listed.items.len(), 3);
    for (i, kv) in listed.items.iter().enumerate() {
        assert!(kv.value == blob(MIB, i as u64), "listed value {i} intact");
    }
    let events = collect_until(&mut watch, last, "large values").await;
    assert_eq!(events.len(), 3);
}

pub async fn list_of_100k_keys(store: Arc<dyn Store>) {
    const N: usize = 100_000;
    let chunk = store.max_batch_ops().min(5_000);
    let keys: Vec<String> = (0..N).map(|i| format!("many/{i:06}")).collect();
    let mut last = 0;
    for ops in keys.chunks(chunk) {
        let ops = ops
            .iter()
            .map(|key| WriteOp::Put {
                key: key.clone(),
                value: bytes::Bytes::from(format!("value-of-{key}")),
                lease: None,
            })
            .collect();
        last = store.write_batch(ops).await.expect("batch");
    }
    let listed = store.list("many/").await.expect("list 100k");
    assert_eq!(listed.items.len(), N);
    assert!(listed.revision >= last);
    let listed_keys: Vec<&str> = listed.items.iter().map(|kv| kv.key.as_str()).collect();
    assert!(
        listed_keys
            .iter()
            .copied()
            .eq(keys.iter().map(String::as_str)),
        "keys in order"
    );
    assert!(
        listed
            .items
            .iter()
            .all(|kv| kv.value.len() == "value-of-many/000000".len())
    );

    let narrow = store.list("many/09999").await.expect("narrow list");
    assert_eq!(narrow.items.len(), 10);
}
