//! The baseline path of the sync and propagation scenarios: how a KVStoreMesh
//! deployment moves records. The exporting cluster's records are keys in etcd 1; a
//! copier (KVStoreMesh's role) watches etcd 1 and writes what it sees into etcd 2; the
//! agent watches etcd 2 and decodes every value into its cache. Two real `etcd`
//! processes, no rate limits anywhere.
//!
//! Writes go as transactions of at most 128 operations (etcd's default
//! `--max-txn-ops`), several in flight: stronger than one put per key, which is what
//! KVStoreMesh itself does.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use clustermesh_apiserver::{layout, store::testing::EtcdProcess};
use clustermesh_proto::Record;
use etcd_client::{Client, EventType, Txn, TxnOp, WatchOptions};
use futures::{StreamExt as _, stream::FuturesUnordered};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};

/// etcd's default `--max-txn-ops`.
pub const TXN_OPS: usize = 128;
/// Transactions in flight per writer.
const IN_FLIGHT: usize = 16;
const WATCH_MAX_MESSAGE_BYTES: usize = 512 * 1024 * 1024;

/// One change to a key.
#[derive(Debug, Clone)]
pub enum Op {
    Put(String, Vec<u8>),
    Delete(String),
}

impl Op {
    fn txn_op(self) -> TxnOp {
        match self {
            Op::Put(key, value) => TxnOp::put(key, value, None),
            Op::Delete(key) => TxnOp::delete(key, None),
        }
    }
}

/// What the agent saw in one watch response: the keys put, and when.
pub struct Seen {
    pub keys: Vec<String>,
    pub at: Instant,
}

/// The two etcds, the copier and the agent, following `prefix`.
pub struct KvStoreMesh {
    pub writer: Client,
    pub seen: mpsc::UnboundedReceiver<Seen>,
    copier: JoinHandle<anyhow::Result<()>>,
    agent: JoinHandle<anyhow::Result<()>>,
    // Declared last: the processes outlive the tasks talking to them.
    _etcds: [EtcdProcess; 2],
}

impl KvStoreMesh {
    pub async fn start(prefix: &str) -> anyhow::Result<Self> {
        let (one, two) = tokio::try_join!(EtcdProcess::start(), EtcdProcess::start())
            .map_err(anyhow::Error::msg)
            .context("starting two etcd servers")?;
        let client = |etcd: &EtcdProcess| Client::connect([etcd.client_url().to_owned()], None);
        let writer = client(&one).await?;
        let copy_from = client(&one).await?;
        let copy_to = client(&two).await?;
        let agent = client(&two).await?;
        // Both watches exist before the first write, so nothing is missed.
        let copy_stream = watch_from_now(copy_from, prefix).await?;
        let agent_stream = watch_from_now(agent, prefix).await?;
        let (tx, seen) = mpsc::unbounded_channel();
        Ok(Self {
            writer,
            seen,
            copier: tokio::spawn(copy(copy_stream, copy_to)),
            agent: tokio::spawn(follow(agent_stream, tx)),
            _etcds: [one, two],
        })
    }

    /// What the agent saw next, or `None` at `deadline`; fails when the copier or the
    /// agent stopped.
    pub async fn next_seen(&mut self, deadline: Instant) -> anyhow::Result<Option<Seen>> {
        tokio::select! {
            seen = self.seen.recv() => seen.context("kvstoremesh: the agent stopped").map(Some),
            copied = &mut self.copier => {
                let copied = copied.context("kvstoremesh copier")?;
                anyhow::bail!("kvstoremesh: the copier stopped: {copied:?}")
            }
            () = tokio::time::sleep_until(deadline) => Ok(None),
        }
    }

    /// Stops the copier and the agent.
    pub fn stop(self) {
        self.copier.abort();
        self.agent.abort();
    }
}

async fn watch_from_now(client: Client, prefix: &str) -> anyhow::Result<etcd_client::WatchStream> {
    let options = WatchOptions::new().with_prefix();
    // etcd sends a burst of revisions as one message, far above gRPC's 4 MiB default.
    let mut watch = client
        .watch_client()
        .max_decoding_message_size(WATCH_MAX_MESSAGE_BYTES);
    let mut stream = watch.watch(prefix, Some(options)).await?;
    match stream.message().await? {
        Some(resp) if resp.created() => Ok(stream),
        _ => anyhow::bail!("etcd did not create the watch on {prefix:?}"),
    }
}

/// Writes `ops` as transactions of at most [`TXN_OPS`], [`IN_FLIGHT`] at a time. A key
/// must not appear twice: concurrent transactions may apply in any order.
pub async fn write_all(client: &Client, ops: Vec<Op>) -> anyhow::Result<()> {
    let mut pending = FuturesUnordered::new();
    let mut chunks = ops.into_iter().peekable();
    while chunks.peek().is_some() {
        let txn: Vec<TxnOp> = chunks.by_ref().take(TXN_OPS).map(Op::txn_op).collect();
        let mut kv = client.kv_client();
        pending.push(async move { kv.txn(Txn::new().and_then(txn)).await });
        if pending.len() >= IN_FLIGHT {
            pending.next().await.context("in flight")??;
        }
    }
    while let Some(done) = pending.next().await {
        done?;
    }
    Ok(())
}

/// KVStoreMesh: every change seen in etcd 1 written to etcd 2. One watch response's
/// changes (last one per key) go out together; the next response waits for them, so a
/// key's changes are applied in order.
async fn copy(mut stream: etcd_client::WatchStream, to: Client) -> anyhow::Result<()> {
    while let Some(resp) = stream.message().await? {
        let mut last: HashMap<String, Op> = HashMap::new();
        for event in resp.events() {
            let Some(kv) = event.kv() else { continue };
            let key = kv.key_str()?.to_owned();
            let op = match event.event_type() {
                EventType::Put => Op::Put(key.clone(), kv.value().to_vec()),
                EventType::Delete => Op::Delete(key.clone()),
            };
            last.insert(key, op);
        }
        write_all(&to, last.into_values().collect()).await?;
    }
    Ok(())
}

/// The agent: decodes every value into its cache and reports what it saw.
async fn follow(
    mut stream: etcd_client::WatchStream,
    seen: mpsc::UnboundedSender<Seen>,
) -> anyhow::Result<()> {
    let mut cache: BTreeMap<String, Record> = BTreeMap::new();
    while let Some(resp) = stream.message().await? {
        let mut keys = Vec::with_capacity(resp.events().len());
        for event in resp.events() {
            let Some(kv) = event.kv() else { continue };
            let key = kv.key_str()?;
            match event.event_type() {
                EventType::Put => {
                    let record = layout::decode_record(key, kv.value())
                        .with_context(|| format!("decoding {key}"))?;
                    cache.insert(key.to_owned(), record);
                    keys.push(key.to_owned());
                }
                EventType::Delete => drop(cache.remove(key)),
            }
        }
        if seen
            .send(Seen {
                keys,
                at: Instant::now(),
            })
            .is_err()
        {
            break;
        }
    }
    Ok(())
}
