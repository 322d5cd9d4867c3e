//! The store conformance suite against a real etcd process, plus cases only the etcd
//! backend has: a server that goes away, paging, namespaces and watch cleanup.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clustermesh_apiserver::store::etcd::{EtcdStore, EtcdStoreConfig};
use clustermesh_apiserver::store::testing::EtcdProcess;
use clustermesh_apiserver::store::{Store, StoreError};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

clustermesh_apiserver::store_conformance_tests!(
    clustermesh_apiserver::store::testing::EtcdHarness::default()
);

/// The whole suite again with the store inside a namespace, which every request and
/// every returned key passes through.
mod namespaced {
    clustermesh_apiserver::store_conformance_tests!(
        clustermesh_apiserver::store::testing::EtcdHarness::with_key_prefix("mesh-a/")
    );
}

const DEADLINE: Duration = Duration::from_secs(30);

async fn start() -> Result<EtcdProcess> {
    EtcdProcess::start().await.map_err(anyhow::Error::msg)
}

async fn connect(config: EtcdStoreConfig) -> Result<EtcdStore> {
    EtcdStore::connect(config).await.context("connect")
}

fn is_unavailable(result: &Result<impl std::fmt::Debug, StoreError>) -> bool {
    matches!(result, Err(StoreError::Unavailable { .. }))
}

#[tokio::test]
async fn a_dead_server_is_unavailable_not_a_panic() -> Result<()> {
    let mut etcd = start().await?;
    let mut config = etcd.store_config();
    config.request_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(2);
    let store = connect(config.clone()).await?;
    let rev = store.put("k", Bytes::from_static(b"v"), None).await?;
    let mut watch = store.watch("", rev).await?;

    etcd.kill().await.map_err(anyhow::Error::msg)?;

    let item = tokio::time::timeout(DEADLINE, watch.next()).await?;
    assert!(
        matches!(item, Some(Err(StoreError::Unavailable { .. }))),
        "a watch on a dead server ends with Unavailable: {item:?}"
    );
    assert!(is_unavailable(&store.get("k").await));
    assert!(is_unavailable(&store.put("k", Bytes::new(), None).await));
    assert!(is_unavailable(&store.list("").await));
    assert!(is_unavailable(
        &store.grant_lease(Duration::from_secs(5)).await
    ));
    assert!(is_unavailable(&store.watch("", rev).await.map(|_| ())));
    let reconnect = EtcdStore::connect(config).await.map(|_| ());
    assert!(is_unavailable(&reconnect), "{reconnect:?}");
    Ok(())
}

#[tokio::test]
async fn lists_page_at_one_pinned_revision() -> Result<()> {
    let etcd = start().await?;
    let mut config = etcd.store_config();
    // 7 keys per page: a 300-key list takes 43 pages while a writer keeps going.
    config.list_page_keys = 7;
    let store = std::sync::Arc::new(connect(config).await?);

    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            let mut written = Vec::new();
            for i in 0..300 {
                let key = format!("p/{i:04}");
                let rev = store.put(&key, Bytes::from(key.clone()), None).await?;
                written.push((rev, key));
            }
            anyhow::Ok(written)
        }
    });
    let mut lists = Vec::new();
    while !writer.is_finished() {
        lists.push(store.list("p/").await?);
    }
    let written = writer.await??;
    lists.push(store.list("p/").await?);

    for listed in &lists {
        let want: Vec<&str> = written
            .iter()
            .filter(|(rev, _)| *rev <= listed.revision)
            .map(|(_, key)| key.as_str())
            .collect();
        let got: Vec<&str> = listed.items.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(
            got, want,
            "list at revision {} is that revision's state",
            listed.revision
        );
    }
    assert_eq!(lists.last().map(|l| l.items.len()), Some(300));
    Ok(())
}

#[tokio::test]
async fn list_pages_shrink_for_large_values() -> Result<()> {
    let etcd = start().await?;
    let store = connect(etcd.store_config()).await?;
    // Six 1 MiB values: one default page would be a 6 MiB response, over the 4 MiB limit.
    let value = |i: u8| Bytes::from(vec![i; 1 << 20]);
    for i in 0..6u8 {
        store.put(&format!("big/{i}"), value(i), None).await?;
    }
    let listed = store.list("big/").await?;
    assert_eq!(listed.items.len(), 6);
    for (i, kv) in (0u8..).zip(&listed.items) {
        assert!(kv.value == value(i), "value {i} intact");
    }
    Ok(())
}

#[tokio::test]
async fn namespaces_isolate_stores_on_one_etcd() -> Result<()> {
    let etcd = start().await?;
    let open = |prefix: &str| {
        let mut config = etcd.store_config();
        config.key_prefix = prefix.to_owned();
        connect(config)
    };
    let (a, b) = (open("a/").await?, open("b/").await?);
    let start = a.list("").await?.revision;
    let mut watch_a = a.watch("", start).await?;

    b.put("x", Bytes::from_static(b"b"), None).await?;
    let rev = a.put("x", Bytes::from_static(b"a"), None).await?;

    let listed = a.list("").await?;
    let keys: Vec<(&str, &[u8])> = listed
        .items
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_ref()))
        .collect();
    assert_eq!(keys, [("x", b"a".as_slice())]);
    let resp = tokio::time::timeout(DEADLINE, watch_a.next())
        .await?
        .context("watch ended")??;
    assert_eq!(resp.events.len(), 1, "{resp:?}");
    assert_eq!(
        (resp.events[0].key(), resp.events[0].revision()),
        ("x", rev)
    );

    assert_eq!(a.delete_prefix("").await?.deleted, 1);
    let survivor = b
        .get("x")
        .await?
        .context("b/x survives a's delete_prefix")?;
    assert_eq!(survivor.value, Bytes::from_static(b"b"));
    Ok(())
}

#[tokio::test]
async fn dropping_a_watch_cancels_it_in_etcd() -> Result<()> {
    let etcd = start().await?;
    let store = connect(etcd.store_config()).await?;
    let watches = futures::future::try_join_all((0..3).map(|_| store.watch("w/", 0))).await?;
    wait_for_watchers(etcd.client_url(), |n| n >= 3).await?;
    drop(watches);
    // Nothing is written under w/: only the drop itself can end the etcd watches.
    wait_for_watchers(etcd.client_url(), |n| n == 0).await
}

/// Waits until etcd's own watcher gauge satisfies `want`.
async fn wait_for_watchers(url: &str, want: impl Fn(u64) -> bool) -> Result<()> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let n = watcher_gauge(url).await?;
        if want(n) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("etcd still reports {n} watchers after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `etcd_debugging_mvcc_watcher_total` from etcd's /metrics, served on the client port.
async fn watcher_gauge(url: &str) -> Result<u64> {
    let addr = url.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    conn.write_all(request.as_bytes()).await?;
    let mut body = String::new();
    conn.read_to_string(&mut body).await?;
    let line = body
        .lines()
        .find(|l| l.starts_with("etcd_debugging_mvcc_watcher_total "))
        .context("no watcher gauge in /metrics")?;
    let value = line.rsplit(' ').next().unwrap_or_default();
    Ok(value
        .parse::<f64>()
        .with_context(|| format!("gauge {line:?}"))? as u64)
}
