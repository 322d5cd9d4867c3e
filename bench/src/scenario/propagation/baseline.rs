//! The baseline side: c1's endpoints as keys in etcd 1, each change a transaction
//! (delete the old key, put the new one) issued at the same ticks, through the
//! KVStoreMesh path to a watcher on etcd 2.

use std::{collections::HashMap, time::Duration};

use anyhow::Context as _;
use clustermesh_apiserver::layout;
use clustermesh_proto::record_key;
use etcd_client::{Txn, TxnOp};
use tokio::{task::JoinSet, time::Instant};

use super::{
    ENDPOINTS_PER_CLUSTER, Window, keep_going,
    mesh::{Churn, shape},
    schedule,
    window::{Change, GRACE, Pending, TICK, due},
};
use crate::kvstoremesh::{KvStoreMesh, Op, TXN_OPS, write_all};
use crate::mesh::workload;

pub async fn measure() -> anyhow::Result<Vec<Window>> {
    let shape = shape(1);
    let mut mesh = KvStoreMesh::start("c1/").await?;
    let preload: Vec<Op> = (0..shape.pods)
        .map(|pod| put(shape, pod, 0))
        .collect::<anyhow::Result<_>>()?;
    write_all(&mesh.writer, preload).await?;
    let mut held = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while held.len() < ENDPOINTS_PER_CLUSTER as usize {
        let seen = mesh.next_seen(deadline).await?;
        held.extend(
            seen.context("kvstoremesh: the preload did not arrive in time")?
                .keys,
        );
    }
    let mut churn = Churn::new(shape, Default::default());
    let mut windows = Vec::new();
    for (rate, seconds) in schedule() {
        let window = run_window(&mut mesh, &mut churn, rate, seconds).await?;
        if !keep_going(&mut windows, window) {
            break;
        }
    }
    mesh.stop();
    Ok(windows)
}

fn put(shape: workload::Shape, pod: u32, generation: u32) -> anyhow::Result<Op> {
    let record = workload::endpoint_record("c1", 1, shape, pod, generation)?;
    Ok(Op::Put(
        record_key(&record),
        layout::encode_record(&record).to_vec(),
    ))
}

async fn run_window(
    mesh: &mut KvStoreMesh,
    churn: &mut Churn,
    rate: u32,
    seconds: u64,
) -> anyhow::Result<Window> {
    let shape = shape(1);
    let mut pending = Pending::new();
    // The change each key was last put for: keys repeat after a pod's generations.
    let mut changes: HashMap<String, Change> = HashMap::new();
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tick = tokio::time::interval(TICK);
    let mut published = 0;
    let mut writes = JoinSet::new();
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < end => {
                let now_due = due(rate, start.elapsed());
                let mut ops = Vec::new();
                let at = Instant::now();
                for _ in published..now_due {
                    let (change, _) = churn.next();
                    let Change { pod, generation } = change;
                    let Op::Put(new_key, value) = put(shape, pod, generation)? else { unreachable!() };
                    let Op::Put(old_key, _) = put(shape, pod, generation - 1)? else { unreachable!() };
                    pending.published(change, at);
                    changes.insert(new_key.clone(), change);
                    ops.push([TxnOp::delete(old_key, None), TxnOp::put(new_key, value, None)]);
                }
                published = now_due;
                // A change's delete and put stay in one transaction.
                for chunk in ops.chunks(TXN_OPS / 2) {
                    let txn: Vec<TxnOp> = chunk.iter().flat_map(|pair| pair.iter().cloned()).collect();
                    let mut kv = mesh.writer.kv_client();
                    writes.spawn(async move { kv.txn(Txn::new().and_then(txn)).await.map(drop) });
                }
            }
            seen = mesh.next_seen(end + GRACE) => {
                let Some(seen) = seen? else { break };
                for key in &seen.keys {
                    if let Some(change) = changes.get(key) {
                        pending.seen(*change, seen.at);
                    }
                }
            }
        }
        if Instant::now() >= end && pending.is_empty() {
            break;
        }
    }
    while let Some(done) = writes.join_next().await {
        done.context("etcd write task")?.context("etcd write")?;
    }
    Ok(pending.finish(rate))
}
