//! One replica's request routing: run a request here when this replica leads, otherwise
//! hand it to the leader, and retry only what certainly did not execute.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use openraft::ServerState;
use openraft::error::{CheckIsLeaderError, RaftError};
use tokio::time::Instant;

use super::forward::{ForwardOutcome, ForwardReply, ForwardRequest};
use super::network::{CallError, PeerClient};
use super::proposer::{Proposer, Unsent};
use super::state_machine::{SharedApplied, lock};
use super::type_config::{NodeId, Raft};
use crate::store::lease_clock::LeaseClock;
use crate::store::{Command, CommandResponse, KvState, StoreError};

const MAX_BACKOFF: Duration = Duration::from_millis(400);

pub(crate) struct Replica {
    pub(crate) id: NodeId,
    pub(crate) raft: Raft,
    pub(crate) applied: SharedApplied,
    pub(crate) clock: Mutex<LeaseClock>,
    pub(crate) peers: BTreeMap<NodeId, PeerClient>,
    pub(crate) proposer: Proposer,
    pub(crate) request_timeout: Duration,
}

impl Replica {
    pub(crate) fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    pub(crate) fn clock(&self) -> Result<MutexGuard<'_, LeaseClock>, StoreError> {
        self.clock
            .lock()
            .map_err(|_| StoreError::Backend("lease clock lock poisoned".into()))
    }

    /// Runs `req` at the leader, wherever it is, waiting up to the request timeout for one.
    pub(crate) async fn execute(&self, req: &ForwardRequest) -> Result<ForwardReply, StoreError> {
        let deadline = Instant::now() + self.request_timeout;
        let mut backoff = Duration::from_millis(10);
        loop {
            let leader = self.raft.current_leader().await;
            let reason = match leader {
                Some(leader) if leader == self.id => match self.execute_as_leader(req).await {
                    ForwardOutcome::Done(result) => return result,
                    ForwardOutcome::NotLeader => "leadership moved".to_owned(),
                },
                Some(leader) => match self.forward(leader, req, deadline).await {
                    Ok(result) => return result,
                    Err(reason) => reason,
                },
                None => "no raft leader elected".to_owned(),
            };
            if Instant::now() + backoff >= deadline {
                return Err(StoreError::Unavailable {
                    reason: format!("{reason} (gave up after {:?})", self.request_timeout),
                    leader_hint: leader
                        .and_then(|l| self.peers.get(&l))
                        .map(PeerClient::addr),
                });
            }
            // Retry when the backoff ends, or at once when raft names a different leader:
            // after a failover that is the moment the request can succeed.
            let mut metrics = self.raft.metrics();
            let moved =
                metrics.wait_for(|m| m.current_leader.is_some() && m.current_leader != leader);
            let _ = tokio::time::timeout(backoff, moved).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// `Err(reason)` means "retry": the request certainly did not execute.
    async fn forward(
        &self,
        leader: NodeId,
        req: &ForwardRequest,
        deadline: Instant,
    ) -> Result<Result<ForwardReply, StoreError>, String> {
        let Some(client) = self.peers.get(&leader) else {
            return Err(format!("leader {leader} is not in the peer list"));
        };
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(50));
        match client.forward::<_, ForwardOutcome>(req, timeout).await {
            Ok(ForwardOutcome::Done(result)) => Ok(result),
            Ok(ForwardOutcome::NotLeader) => Err(format!("node {leader} is no longer leader")),
            Err(CallError::Unreachable(e)) => Err(format!("leader {leader} unreachable: {e}")),
            Err(e) if req.is_idempotent() => Err(format!("leader {leader}: {e}")),
            Err(e) => Ok(Err(StoreError::Unavailable {
                reason: format!("write to leader {leader} may or may not have been applied: {e}"),
                leader_hint: Some(client.addr()),
            })),
        }
    }

    /// Executes `req` if this replica leads; `NotLeader` guarantees it did nothing.
    pub(crate) async fn execute_as_leader(&self, req: &ForwardRequest) -> ForwardOutcome {
        match req {
            ForwardRequest::Write(cmd) => self.write_as_leader(cmd.clone()).await,
            ForwardRequest::ReadIndex => match self.raft.get_read_log_id().await {
                Ok((read_log_id, _)) => {
                    ForwardOutcome::Done(Ok(ForwardReply::ReadIndex(read_log_id)))
                }
                Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_))) => {
                    ForwardOutcome::NotLeader
                }
                Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(e))) => {
                    ForwardOutcome::Done(Err(StoreError::unavailable(format!("no quorum: {e}"))))
                }
                Err(RaftError::Fatal(f)) => {
                    ForwardOutcome::Done(Err(StoreError::unavailable(format!("raft stopped: {f}"))))
                }
            },
            ForwardRequest::KeepAlive(id) => {
                if !self.is_leader() {
                    return ForwardOutcome::NotLeader;
                }
                ForwardOutcome::Done(self.keep_alive_as_leader(*id))
            }
        }
    }

    async fn write_as_leader(&self, cmd: Command) -> ForwardOutcome {
        let revoked = match &cmd {
            Command::RevokeLease { id } => Some(*id),
            _ => None,
        };
        match self.proposer.propose(cmd).await {
            Ok(result) => {
                if let Ok(mut clock) = self.clock() {
                    if let Ok(CommandResponse::LeaseGranted { id, ttl_ms }) = &result {
                        clock.track(*id, Duration::from_millis(*ttl_ms), Instant::now());
                    }
                    if let Some(id) = revoked {
                        clock.forget(id);
                    }
                }
                ForwardOutcome::Done(result.map(ForwardReply::Written))
            }
            // A write that never reached a raft leader here certainly did not happen.
            Err(Unsent) => ForwardOutcome::NotLeader,
        }
    }

    fn keep_alive_as_leader(&self, id: crate::store::LeaseId) -> Result<ForwardReply, StoreError> {
        let ttl_ms = lock(&self.applied)?
            .state
            .leases()
            .find(|(lease, _)| *lease == id)
            .map(|(_, ttl)| ttl);
        let Some(ttl_ms) = ttl_ms else {
            return Err(StoreError::LeaseNotFound(id.0));
        };
        let mut clock = self.clock()?;
        let now = Instant::now();
        if !clock.refresh(id, now) {
            clock.track(id, Duration::from_millis(ttl_ms), now);
        }
        Ok(ForwardReply::KeptAlive)
    }

    /// Runs `read` on this replica's state once it has applied everything the leader had
    /// committed when the read began (read-index), so the read is linearizable.
    pub(crate) async fn read<T>(&self, read: impl FnOnce(&KvState) -> T) -> Result<T, StoreError> {
        self.caught_up().await?;
        let applied = lock(&self.applied)?;
        Ok(read(&applied.state))
    }

    /// Waits until this replica has applied everything committed when it was called
    /// (a read-index round): what follows sees every write acknowledged before.
    pub(crate) async fn caught_up(&self) -> Result<(), StoreError> {
        let read_log_id = match self.execute(&ForwardRequest::ReadIndex).await? {
            ForwardReply::ReadIndex(id) => id,
            other => {
                return Err(StoreError::Backend(format!(
                    "unexpected read-index reply {other:?}"
                )));
            }
        };
        self.raft
            .wait(Some(self.request_timeout))
            .applied_index_at_least(read_log_id.map(|id| id.index), "read index")
            .await
            .map_err(|e| {
                StoreError::unavailable(format!("replica did not catch up to the read index: {e}"))
            })?;
        Ok(())
    }

    /// Proposes a write and returns what applying it produced.
    pub(crate) async fn write(&self, cmd: Command) -> Result<CommandResponse, StoreError> {
        match self.execute(&ForwardRequest::Write(cmd)).await? {
            ForwardReply::Written(resp) => Ok(resp),
            other => Err(StoreError::Backend(format!(
                "unexpected write reply {other:?}"
            ))),
        }
    }
}

impl ForwardRequest {
    /// Safe to send twice: reads and keep-alives are; writes are not.
    fn is_idempotent(&self) -> bool {
        !matches!(self, ForwardRequest::Write(_))
    }
}
