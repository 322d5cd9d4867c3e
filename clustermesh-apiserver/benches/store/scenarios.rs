//! The three measurements. Each takes the store it runs against and writes only under
//! its own prefix, so none depends on what ran before.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use clustermesh_apiserver::store::{Event, Store, WatchStream, WriteOp};
use futures::StreamExt;
use hdrhistogram::Histogram;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

/// About the size of a small export record.
pub const VALUE_BYTES: usize = 100;
/// Long enough to average over raft batching and fsync jitter, short enough that the
/// whole run stays within a few minutes.
pub const PUT_DURATION: Duration = Duration::from_secs(3);
/// The JSON field names (`puts_per_sec_64_writers`) carry this number.
pub const MANY_WRITERS: usize = 64;
pub const WATCHERS: usize = 16;
pub const WATCH_PUTS: usize = 2_000;
/// At most one put per millisecond: a pace every backend sustains, so the figures show
/// delivery latency rather than a queue building up behind a saturated writer.
const WATCH_PACE: Duration = Duration::from_millis(1);
/// Generous: a stuck watcher should fail the backend, not hang the run.
const WATCH_DEADLINE: Duration = Duration::from_secs(60);
const WATCH_PREFIX: &str = "bench/watch/";
/// Under the watched prefix; its value is never timed, only its arrival awaited.
const WARM_UP_KEY: &str = "bench/watch/warm-up";
pub const LIST_KEYS: usize = 100_000;
/// The chunk size cap from the brief; backends may accept less (etcd's default is 128).
const LIST_LOAD_CHUNK: usize = 5_000;
const LIST_ROUNDS: usize = 3;

/// Puts per second that `writers` concurrent writers sustain for [`PUT_DURATION`], each
/// writing distinct keys under `prefix`.
pub async fn put_throughput(
    store: Arc<dyn Store>,
    writers: usize,
    prefix: &str,
) -> anyhow::Result<f64> {
    let value = Bytes::from(vec![b'p'; VALUE_BYTES]);
    let start = Instant::now();
    let deadline = start + PUT_DURATION;
    let mut tasks = JoinSet::new();
    for writer in 0..writers {
        let (store, value) = (store.clone(), value.clone());
        let prefix = format!("{prefix}/{writer:02}/");
        tasks.spawn(async move {
            let mut puts = 0u64;
            while Instant::now() < deadline {
                store
                    .put(&format!("{prefix}{puts:08}"), value.clone(), None)
                    .await?;
                puts += 1;
                // The memory store's put never suspends: without this one writer would
                // hold a worker thread for the whole run and "64 writers" would be two.
                tokio::task::yield_now().await;
            }
            anyhow::Ok(puts)
        });
    }
    let mut total = 0;
    while let Some(puts) = tasks.join_next().await {
        total += puts.context("writer task panicked")??;
    }
    // Elapsed rather than PUT_DURATION: the last puts finish after the deadline.
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

#[derive(Debug, Clone, Copy)]
pub struct WatchFigures {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// (event, watcher) pairs measured: `WATCHERS * WATCH_PUTS`.
    pub samples: u64,
    /// The writer's own put latency: how much of the above is commit, not delivery.
    pub put_p50_us: u64,
    pub put_p99_us: u64,
    pub put_max_us: u64,
    /// From the warm-up put until every new watcher saw it: a watch's start-up cost.
    pub first_event_us: u64,
}

/// Latency from issuing a put until a watcher sees it, over every (event, watcher)
/// pair, with [`WATCHERS`] watchers on one prefix and one paced writer.
pub async fn watch_fanout(store: Arc<dyn Store>) -> anyhow::Result<WatchFigures> {
    let after = store.list(WATCH_PREFIX).await?.revision;
    // Each value carries its send time as nanoseconds since `epoch`. Watchers need no
    // shared map, and an event that arrives before its put returns is still timed right.
    let epoch = Instant::now();
    let warmed_up = Arc::new(Barrier::new(WATCHERS + 1));
    let mut watchers = JoinSet::new();
    for _ in 0..WATCHERS {
        let stream = store.watch(WATCH_PREFIX, after).await?;
        watchers.spawn(observe(stream, epoch, warmed_up.clone()));
    }
    // A new watch may take a while to go live (etcd catches up a watch that starts at a
    // past revision in a 100 ms loop). That is start-up cost, reported on its own, not
    // fan-out latency: the timed puts begin once every watcher saw the warm-up put.
    let warm_up = Instant::now();
    store.put(WARM_UP_KEY, timestamped(epoch), None).await?;
    tokio::time::timeout(WATCH_DEADLINE, warmed_up.wait())
        .await
        .context("watchers did not see the warm-up put")?;
    let first_event_us = micros(warm_up.elapsed());
    let mut puts = histogram()?;
    let mut tick = tokio::time::interval(WATCH_PACE);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    for i in 0..WATCH_PUTS {
        tick.tick().await;
        let key = format!("{WATCH_PREFIX}{i:06}");
        let start = Instant::now();
        store.put(&key, timestamped(epoch), None).await?;
        puts.saturating_record(micros(start.elapsed()));
    }
    let mut merged = histogram()?;
    let collect = async {
        while let Some(seen) = watchers.join_next().await {
            merged.add(seen.context("watcher task panicked")??)?;
        }
        anyhow::Ok(())
    };
    tokio::time::timeout(WATCH_DEADLINE, collect)
        .await
        .with_context(|| {
            format!("watchers missed some of {WATCH_PUTS} puts for {WATCH_DEADLINE:?}")
        })??;
    Ok(WatchFigures {
        p50_us: merged.value_at_quantile(0.50),
        p99_us: merged.value_at_quantile(0.99),
        max_us: merged.max(),
        samples: merged.len(),
        put_p50_us: puts.value_at_quantile(0.50),
        put_p99_us: puts.value_at_quantile(0.99),
        put_max_us: puts.max(),
        first_event_us,
    })
}

/// Reads one watch until it has seen every timed put, recording each event's latency
/// in µs; once it has seen the warm-up put it waits at `warmed_up` for the others.
async fn observe(
    mut stream: WatchStream,
    epoch: Instant,
    warmed_up: Arc<Barrier>,
) -> anyhow::Result<Histogram<u64>> {
    let mut latencies = histogram()?;
    let mut seen = 0;
    while seen < WATCH_PUTS {
        let response = stream.next().await.context("watch ended early")??;
        // One clock read per response: its events arrived together.
        let now = nanos_since(epoch);
        for event in response.events.iter() {
            let Event::Put(kv) = event else {
                bail!("unexpected delete of {} in the watch", event.key());
            };
            if kv.key == WARM_UP_KEY {
                warmed_up.wait().await;
                continue;
            }
            let sent = kv
                .value
                .get(..8)
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                .map(u64::from_be_bytes)
                .with_context(|| format!("value of {} carries no send time", kv.key))?;
            latencies.saturating_record(now.saturating_sub(sent) / 1_000);
            seen += 1;
        }
    }
    Ok(latencies)
}

/// A [`VALUE_BYTES`] value that starts with its send time.
fn timestamped(epoch: Instant) -> Bytes {
    let mut value = Vec::with_capacity(VALUE_BYTES);
    value.extend_from_slice(&nanos_since(epoch).to_be_bytes());
    value.resize(VALUE_BYTES, b'w');
    value.into()
}

fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

/// 1 µs to 60 s at three significant digits.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

fn nanos_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, Copy)]
pub struct ListFigures {
    pub load_ms: f64,
    pub first_ms: f64,
    pub best_ms: f64,
}

/// Loads [`LIST_KEYS`] keys in batches, then times a full `list` of them several times:
/// the first call shows a cold read, the best one the steady state.
pub async fn list_100k(store: Arc<dyn Store>) -> anyhow::Result<ListFigures> {
    let prefix = "bench/list/";
    let value = Bytes::from(vec![b'l'; VALUE_BYTES]);
    let chunk = store.max_batch_ops().clamp(1, LIST_LOAD_CHUNK);
    let load_start = Instant::now();
    for first in (0..LIST_KEYS).step_by(chunk) {
        let ops = (first..LIST_KEYS.min(first + chunk))
            .map(|i| WriteOp::Put {
                key: format!("{prefix}{i:06}"),
                value: value.clone(),
                lease: None,
            })
            .collect();
        store.write_batch(ops).await?;
    }
    let load_ms = millis(load_start.elapsed());
    let mut rounds = Vec::with_capacity(LIST_ROUNDS);
    for _ in 0..LIST_ROUNDS {
        let start = Instant::now();
        let listed = store.list(prefix).await?;
        rounds.push(millis(start.elapsed()));
        // A correctness check, not a timing one: a short list would make the time meaningless.
        if listed.items.len() != LIST_KEYS {
            bail!(
                "list returned {} keys, expected {LIST_KEYS}",
                listed.items.len()
            );
        }
    }
    Ok(ListFigures {
        load_ms,
        first_ms: rounds[0],
        best_ms: rounds.iter().copied().fold(f64::INFINITY, f64::min),
    })
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1_000.0
}
