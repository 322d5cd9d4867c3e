//! Group commit. Concurrent writes that reach the leader while a proposal is in flight
//! are packed into one log entry (`Command::Group`), so one fsync and one replication
//! round carry all of them. Each write still gets its own revision and its own result.

use openraft::error::{ClientWriteError, Fatal, RaftError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::type_config::Raft;
use crate::store::{Command, CommandResponse, StoreError};

/// Upper bounds for one group, so an entry stays well inside the RPC message limit.
const MAX_GROUP_COMMANDS: usize = 1024;
const MAX_GROUP_BYTES: usize = 16 << 20;
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Result<CommandResponse, StoreError>, Unsent>>;

/// The write was certainly not applied (no leader here, or raft stopped).
#[derive(Debug)]
pub(crate) struct Unsent;

#[derive(Clone)]
pub(crate) struct Proposer {
    tx: mpsc::Sender<(Command, Reply)>,
}

impl Proposer {
    pub(crate) fn new(
        raft: Raft,
        shutdown: CancellationToken,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Proposer { tx }, run(raft, rx, shutdown))
    }

    /// `Err(Unsent)` guarantees the write was not applied.
    pub(crate) async fn propose(
        &self,
        cmd: Command,
    ) -> Result<Result<CommandResponse, StoreError>, Unsent> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send((cmd, reply)).await.is_err() {
            return Err(Unsent);
        }
        answer.await.unwrap_or(Ok(Err(StoreError::unavailable(
            "store shut down while the write was in flight; it may or may not have been applied",
        ))))
    }
}

async fn run(raft: Raft, mut rx: mpsc::Receiver<(Command, Reply)>, shutdown: CancellationToken) {
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => {
                // Queued writes never reached raft: tell their callers to retry elsewhere.
                rx.close();
                while let Ok((_, reply)) = rx.try_recv() {
                    let _ = reply.send(Err(Unsent));
                }
                return;
            }
            next = rx.recv() => match next {
                Some(first) => first,
                None => return,
            },
        };
        let mut bytes = first.0.approx_size();
        let mut group = vec![first];
        while group.len() < MAX_GROUP_COMMANDS && bytes < MAX_GROUP_BYTES {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += next.0.approx_size();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        commit(&raft, group).await;
    }
}

async fn commit(raft: &Raft, group: Vec<(Command, Reply)>) {
    let (cmds, replies): (Vec<Command>, Vec<Reply>) = group.into_iter().unzip();
    let single = cmds.len() == 1;
    let entry = match single {
        true => cmds
            .into_iter()
            .next()
            .unwrap_or(Command::Group(Vec::new())),
        false => Command::Group(cmds),
    };
    let results: Vec<Result<Result<CommandResponse, StoreError>, Unsent>> = match raft
        .client_write(entry)
        .await
    {
        Ok(resp) => match (single, resp.data.0) {
            (true, result) => vec![Ok(result)],
            (false, Ok(CommandResponse::Group(results))) if results.len() == replies.len() => {
                results.into_iter().map(Ok).collect()
            }
            (false, other) => {
                let err = StoreError::Backend(format!("unexpected group response {other:?}"));
                replies.iter().map(|_| Ok(Err(err.clone()))).collect()
            }
        },
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))
        | Err(RaftError::Fatal(Fatal::Stopped)) => replies.iter().map(|_| Err(Unsent)).collect(),
        Err(e) => {
            let err = StoreError::unavailable(format!("raft write failed: {e}"));
            replies.iter().map(|_| Ok(Err(err.clone()))).collect()
        }
    };
    for (reply, result) in replies.into_iter().zip(results) {
        // A caller that gave up no longer wants the answer.
        let _ = reply.send(result);
    }
}
