//! Shared helpers for conformance cases: deadlines, event collection, values.

use bytes::Bytes;
use futures::StreamExt;

pub(crate) use crate::store::testing::eventually;
use crate::store::{Event, StoreError, WatchResponse, WatchStream};

pub(crate) use crate::store::testing::WAIT_DEADLINE as DEADLINE;

pub(crate) fn val(s: impl Into<String>) -> Bytes {
    Bytes::from(s.into())
}

/// The next item of a watch, failing the case if none arrives within the deadline.
pub(crate) async fn next_item(
    stream: &mut WatchStream,
    what: &str,
) -> Option<Result<WatchResponse, StoreError>> {
    match tokio::time::timeout(DEADLINE, stream.next()).await {
        Ok(item) => item,
        Err(_) => panic!("{what}: no watch item within {DEADLINE:?}"),
    }
}

/// Reads events until one at `last` (or later) has arrived. Fails on a stream error.
pub(crate) async fn collect_until(stream: &mut WatchStream, last: i64, what: &str) -> Vec<Event> {
    let mut events = Vec::new();
    while events.last().map(Event::revision).unwrap_or(i64::MIN) < last {
        match next_item(stream, what).await {
            Some(Ok(resp)) => events.extend(resp.events.iter().cloned()),
            Some(Err(err)) => panic!("{what}: watch failed after {} events: {err}", events.len()),
            None => panic!("{what}: watch ended after {} events", events.len()),
        }
    }
    events
}

/// Asserts revisions strictly increase across the events.
pub(crate) fn assert_ordered(events: &[Event], what: &str) {
    for pair in events.windows(2) {
        assert!(
            pair[0].revision() <= pair[1].revision(),
            "{what}: event at revision {} after one at {}",
            pair[1].revision(),
            pair[0].revision()
        );
    }
}

/// `n` bytes of deterministic, incompressible-looking content.
pub(crate) fn blob(n: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect::<Vec<u8>>()
        .into()
}
