//! Watches: ordering under concurrency, resume, prefix isolation, compaction, slow readers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::util::{DEADLINE, assert_ordered, collect_until, next_item, val};
use crate::store::{Event, Revision, Store, StoreError};

/// The per-watcher event budget the slow-watcher case runs with.
pub const SLOW_WATCHER_BUFFER: usize = 64;

/// `writers` tasks each put `per_writer` keys under `prefix`; returns revision → key.
async fn concurrent_puts(
    store: &Arc<dyn Store>,
    prefix: &str,
    writers: usize,
    per_writer: usize,
) -> BTreeMap<Revision, String> {
    let mut tasks = JoinSet::new();
    for w in 0..writers {
        let store = store.clone();
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let mut mine = Vec::with_capacity(per_writer);
            for i in 0..per_writer {
                let key = format!("{prefix}{w}/{i}");
                let rev = store.put(&key, val(&key), None).await.expect("put");
                if let Some((last, _)) = mine.last() {
                    assert!(rev > *last, "a writer's own revisions must increase");
                }
                mine.push((rev, key));
            }
            mine
        });
    }
    let mut by_revision = BTreeMap::new();
    for (rev, key) in tasks.join_all().await.into_iter().flatten() {
        if let Some(other) = by_revision.insert(rev, key.clone()) {
            panic!("revision {rev} handed to both {other} and {key}");
        }
    }
    by_revision
}

pub async fn revisions_are_gap_free_under_concurrent_writers(store: Arc<dyn Store>) {
    let start = store.list("g/").await.expect("list").revision;
    let mut watch = store.watch("g/", start).await.expect("watch");
    let (writers, per_writer) = (8, 40);
    let by_revision = concurrent_puts(&store, "g/", writers, per_writer).await;

    let total = (writers * per_writer) as i64;
    let revisions: Vec<Revision> = by_revision.keys().copied().collect();
    let expected: Vec<Revision> = (start + 1..=start + total).collect();
    assert_eq!(
        revisions, expected,
        "revisions must be distinct and gap-free"
    );

    let events = collect_until(&mut watch, start + total, "concurrent writers").await;
    assert_ordered(&events, "concurrent writers");
    let seen: Vec<(Revision, String)> = events
        .iter()
        .map(|e| (e.revision(), e.key().to_owned()))
        .collect();
    let want: Vec<(Revision, String)> = by_revision.into_iter().collect();
    assert_eq!(
        seen, want,
        "the watcher sees every write once, in revision order"
    );
}

pub async fn watch_resumes_without_loss_or_duplicates(store: Arc<dyn Store>) {
    let start = store.list("r/").await.expect("list").revision;
    let mut first = store.watch("r/", start).await.expect("watch");
    let mut expected = Vec::new();
    for i in 0..30 {
        let key = format!("r/{}", i % 7);
        let rev = match i % 5 == 4 {
            true => store.delete(&key).await.expect("delete").revision,
            false => store
                .put(&key, val(format!("v{i}")), None)
                .await
                .expect("put"),
        };
        expected.push(rev);
    }
    expected.dedup();

    // Read part of the history, then drop the watch at a response boundary.
    let mut seen: Vec<Event> = Vec::new();
    while seen.last().map(Event::revision).unwrap_or(start) < start + 10 {
        match next_item(&mut first, "first watch").await {
            Some(Ok(resp)) => seen.extend(resp.events.iter().cloned()),
            other => panic!("first watch: {other:?}"),
        }
    }
    drop(first);
    let resume_after = seen.last().map(Event::revision).unwrap_or(start);

    for i in 30..50 {
        let rev = store
            .put(&format!("r/{}", i % 7), val(format!("v{i}")), None)
            .await
            .expect("put");
        expected.push(rev);
    }
    let last = *expected.last().expect("writes happened");
    let mut resumed = store.watch("r/", resume_after).await.expect("resume");
    seen.extend(collect_until(&mut resumed, last, "resumed watch").await);

    assert_ordered(&seen, "resumed watch");
    let mut revisions: Vec<Revision> = seen.iter().map(Event::revision).collect();
    let before = revisions.len();
    revisions.dedup();
    assert_eq!(
        revisions.len(),
        before,
        "no event delivered twice: {seen:?}"
    );
    let writes: Vec<Revision> = expected.into_iter().filter(|r| *r > start).collect();
    assert_eq!(
        revisions, writes,
        "every write seen exactly once across the resume"
    );
}

pub async fn watch_sees_only_its_prefix(store: Arc<dyn Store>) {
    let start = store.list("").await.expect("list").revision;
    let mut watch = store.watch("a/", start).await.expect("watch");
    store.put("a/1", val("x"), None).await.expect("put");
    store.put("ab/1", val("x"), None).await.expect("put");
    store.put("b/1", val("x"), None).await.expect("put");
    let last = store.put("a/2", val("x"), None).await.expect("put");
    let events = collect_until(&mut watch, last, "prefix watch").await;
    let keys: Vec<&str> = events.iter().map(Event::key).collect();
    assert_eq!(keys, ["a/1", "a/2"]);
}

pub async fn watch_from_a_future_revision_starts_there(store: Arc<dyn Store>) {
    let now = store.list("f/").await.expect("list").revision;
    let mut watch = store.watch("f/", now + 2).await.expect("watch");
    let mut last = now;
    for i in 0..3 {
        last = store
            .put(&format!("f/{i}"), val("x"), None)
            .await
            .expect("put");
    }
    let events = collect_until(&mut watch, last, "future watch").await;
    let revisions: Vec<Revision> = events.iter().map(Event::revision).collect();
    assert_eq!(
        revisions,
        [now + 3],
        "only revisions after the requested one"
    );
}

pub async fn compaction_reports_compacted_and_relist_recovers(store: Arc<dyn Store>) {
    let mut revs = Vec::new();
    for i in 0..10 {
        revs.push(
            store
                .put(&format!("z/{i}"), val("x"), None)
                .await
                .expect("put"),
        );
    }
    store.compact(revs[5]).await.expect("compact");
    store
        .compact(revs[5])
        .await
        .expect("compacting twice is harmless");

    let mut stale = store.watch("z/", revs[2]).await.expect("watch");
    match next_item(&mut stale, "stale watch").await {
        Some(Err(StoreError::Compacted {
            requested,
            compacted,
        })) => {
            assert_eq!(requested, revs[2]);
            assert!(
                compacted >= revs[2],
                "compacted {compacted} < requested {requested}"
            );
        }
        other => panic!("a watch from a compacted revision must report Compacted, got {other:?}"),
    }
    let after = tokio::time::timeout(DEADLINE, futures::StreamExt::next(&mut stale)).await;
    assert!(
        matches!(after, Ok(None)),
        "the stream ends after Compacted: {after:?}"
    );

    // The caller's recovery: relist, then watch from the list's revision.
    let listed = store.list("z/").await.expect("relist");
    assert_eq!(listed.items.len(), 10);
    let mut watch = store.watch("z/", listed.revision).await.expect("watch");
    let rev = store.put("z/new", val("x"), None).await.expect("put");
    let events = collect_until(&mut watch, rev, "watch after relist").await;
    assert_eq!(events.iter().map(Event::key).collect::<Vec<_>>(), ["z/new"]);
}

pub async fn slow_watcher_is_cut_and_resumes(store: Arc<dyn Store>) {
    let start = store.list("s/").await.expect("list").revision;
    let mut slow = store.watch("s/", start).await.expect("watch");

    // Writers must finish although nobody reads the watch.
    let (writers, per_writer) = (8, 50);
    let total = (writers * per_writer) as i64;
    let writes = tokio::time::timeout(
        DEADLINE + Duration::from_secs(30),
        concurrent_puts(&store, "s/", writers, per_writer),
    )
    .await
    .expect("a watcher that does not read must not block writers");
    assert_eq!(writes.len() as i64, total);

    let mut seen: Vec<Event> = Vec::new();
    let resume_after = loop {
        match next_item(&mut slow, "slow watch").await {
            Some(Ok(resp)) => seen.extend(resp.events.iter().cloned()),
            Some(Err(StoreError::WatchLagged { resume_after })) => break resume_after,
            other => panic!("a slow watcher must be cut with WatchLagged, got {other:?}"),
        }
    };
    assert!(
        (seen.len() as i64) < total,
        "the watcher was cut, so it cannot have everything"
    );
    assert_eq!(
        seen.last().map(Event::revision).unwrap_or(start),
        resume_after,
        "resume_after is the last revision delivered"
    );
    // A replica still applying the writes can cut the resumed watch too (its backlog
    // alone exceeds this case's tiny budget): the client resumes after every cut.
    let mut resume_after = resume_after;
    for _ in 0..100 {
        if resume_after >= start + total {
            break;
        }
        let mut resumed = store.watch("s/", resume_after).await.expect("resume");
        loop {
            match next_item(&mut resumed, "resumed slow watch").await {
                Some(Ok(resp)) => seen.extend(resp.events.iter().cloned()),
                Some(Err(StoreError::WatchLagged { resume_after: r })) => {
                    assert_eq!(
                        seen.last().map(Event::revision),
                        Some(r),
                        "cut at what it delivered"
                    );
                    break;
                }
                other => panic!("resumed slow watch: {other:?}"),
            }
            if seen.last().map(Event::revision) >= Some(start + total) {
                break;
            }
        }
        resume_after = seen.last().map(Event::revision).unwrap_or(start);
    }
    let revisions: Vec<Revision> = seen.iter().map(Event::revision).collect();
    let expected: Vec<Revision> = (start + 1..=start + total).collect();
    assert_eq!(
        revisions, expected,
        "nothing lost, nothing twice across the cut"
    );
}
