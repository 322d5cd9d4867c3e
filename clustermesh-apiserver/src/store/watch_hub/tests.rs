use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;

use super::WatchHub;
use crate::store::{Command, KvState, KvStateConfig, WriteOp};

fn put(key: &str) -> WriteOp {
    WriteOp::Put {
        key: key.into(),
        value: Bytes::from_static(b"v"),
        lease: None,
    }
}

#[tokio::test]
async fn a_watcher_taking_a_whole_revision_shares_it_and_others_get_their_part() {
    let mut state = KvState::new(KvStateConfig::default());
    let mut hub = WatchHub::new(1024);
    let mut everything = hub.subscribe(&state, "a/", 0);
    let mut nodes = hub.subscribe(&state, "a/nodes/", 0);

    let (result, applied) = state.apply(Command::Batch(vec![
        put("a/nodes/n1"),
        put("a/endpoints/10.0.0.1"),
    ]));
    result.expect("batch applies");
    hub.publish(&applied);

    let whole = everything.next().await.expect("open").expect("events");
    assert!(
        Arc::ptr_eq(&whole.events, &applied[0]),
        "the revision is shared, not copied"
    );
    let part = nodes.next().await.expect("open").expect("events");
    let keys: Vec<&str> = part.events.iter().map(|e| e.key()).collect();
    assert_eq!(keys, ["a/nodes/n1"]);
}
