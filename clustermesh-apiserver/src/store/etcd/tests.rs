use std::time::Duration;

use futures::{FutureExt, StreamExt};

use tonic::{Code, Status};

use super::error::{Failure, classify};
use super::keys::{Keyspace, key_after, range_end};
use super::lease::ttl_seconds;
use super::list::{next_page_keys, refused_bytes};
use super::watch::Forwarder;
use crate::store::StoreError;
use crate::store::watch_channel::watch_channel;
use crate::store::{Event, WatchResponse};

fn status(code: Code, message: &str) -> etcd_client::Error {
    etcd_client::Error::GRpcStatus(Status::new(code, message))
}

#[test]
fn prefix_ranges_cover_exactly_the_prefix() {
    assert_eq!(range_end(b"a/"), Some(b"a0".to_vec()));
    assert_eq!(range_end(b"a\xff"), Some(b"b".to_vec()));
    assert_eq!(range_end(b"\xff\xff"), None);
    assert_eq!(range_end(b""), None);
    assert_eq!(key_after(b"k"), b"k\0".to_vec());

    let plain = Keyspace::new("");
    assert_eq!(plain.prefix_range(""), (vec![0], vec![0]));
    assert_eq!(plain.prefix_range("x/"), (b"x/".to_vec(), b"x0".to_vec()));

    let ns = Keyspace::new("mesh/");
    assert_eq!(ns.prefix_range(""), (b"mesh/".to_vec(), b"mesh0".to_vec()));
    assert_eq!(ns.key("a").ok(), Some(b"mesh/a".to_vec()));
    assert_eq!(ns.store_key(b"mesh/a"), Some("a".to_owned()));
    assert_eq!(ns.store_key(b"other/a"), None);
    assert_eq!(ns.store_key(b"mesh/\xff"), None);
}

#[test]
fn empty_keys_are_refused_before_sending() {
    let ns = Keyspace::new("mesh/");
    assert!(matches!(ns.key(""), Err(StoreError::InvalidArgument(_))));
}

#[test]
fn etcd_errors_map_to_store_errors() {
    let cases = [
        (Code::Unavailable, "etcdserver: no leader", "unavailable"),
        (
            Code::DeadlineExceeded,
            "context deadline exceeded",
            "unavailable",
        ),
        (
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
            "compacted",
        ),
        (
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision",
            "future",
        ),
        (
            Code::NotFound,
            "etcdserver: requested lease not found",
            "lease",
        ),
        (
            Code::InvalidArgument,
            "etcdserver: too many operations in txn request",
            "invalid",
        ),
        (
            Code::OutOfRange,
            "Error, decoded message length too large: found 9000000 bytes, the limit is: 4194304 bytes",
            "too-large",
        ),
        (
            Code::PermissionDenied,
            "etcdserver: permission denied",
            "other",
        ),
    ];
    for (code, message, want) in cases {
        let got = classify(&status(code, message));
        let kind = match got {
            Failure::Unavailable(_) => "unavailable",
            Failure::Compacted => "compacted",
            Failure::FutureRevision(_) => "future",
            Failure::LeaseNotFound => "lease",
            Failure::InvalidArgument(_) => "invalid",
            Failure::ResponseTooLarge(_) => "too-large",
            Failure::Other(_) => "other",
        };
        assert_eq!(kind, want, "{code:?} {message}");
    }
    let lease = classify(&status(
        Code::NotFound,
        "etcdserver: requested lease not found",
    ));
    assert_eq!(
        lease.into_store_error(Some(7)),
        StoreError::LeaseNotFound(7)
    );
    let keep_alive = etcd_client::Error::LeaseKeepAliveError("lease not found".into());
    assert_eq!(classify(&keep_alive), Failure::LeaseNotFound);
    let down = classify(&status(Code::Unavailable, "tcp connect error")).into_store_error(None);
    assert!(down.is_retryable());
}

#[test]
fn list_pages_shrink_for_large_values() {
    assert_eq!(next_page_keys(5_000 * 100, 5_000, 5_000), 5_000);
    assert_eq!(next_page_keys(4 * 1024 * 1024, 4, 5_000), 2);
    assert_eq!(next_page_keys(64 * 1024 * 1024, 1, 5_000), 1);
    assert_eq!(next_page_keys(0, 0, 5_000), 5_000);
    let message = "Error, decoded message length too large: found 10485900 bytes, the limit is: 4194304 bytes";
    assert_eq!(refused_bytes(message), Some(10_485_900));
    assert_eq!(refused_bytes("something else"), None);
}

#[test]
fn lease_ttls_round_up_to_seconds() {
    assert_eq!(ttl_seconds(Duration::from_millis(1)).ok(), Some(1));
    assert_eq!(ttl_seconds(Duration::from_millis(1000)).ok(), Some(1));
    assert_eq!(ttl_seconds(Duration::from_millis(1001)).ok(), Some(2));
    assert!(matches!(
        ttl_seconds(Duration::ZERO),
        Err(StoreError::InvalidArgument(_))
    ));
}

#[test]
fn watch_backlog_goes_whole_and_live_events_per_revision() {
    let (sender, mut receiver) = watch_channel(1_000, 2);
    let mut forwarder = Forwarder::for_test(2, 5, sender);
    let delete = |key: &str, revision| Event::Delete {
        key: key.to_owned(),
        revision,
    };
    let events = vec![
        delete("a", 3),
        delete("b", 4),
        delete("c", 5),
        delete("d", 6),
        delete("e", 6),
        delete("f", 7),
    ];
    assert!(forwarder.forward(events).is_ok());
    let mut revisions = Vec::new();
    while let Some(Some(Ok(resp))) = receiver.next().now_or_never() {
        let resp: WatchResponse = resp;
        revisions.push(resp.events.iter().map(Event::revision).collect::<Vec<_>>());
    }
    assert_eq!(revisions, [vec![3, 4, 5], vec![6, 6], vec![7]]);
}
