//! Relays probe runs between `Admin.RunProbes` callers and agents' `Mesh.Probes`
//! streams. An agent attaches while its stream is open; a run is registered while its
//! caller's stream is open. Dropping either side's handle unregisters it, and dropping
//! a run's handle tells its agent to stop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use clustermesh_proto::pb;
use tokio::sync::mpsc;

/// Reports buffered per run before the agent's stream waits for the caller.
const REPORT_BUFFER: usize = 64;
const ASSIGNMENT_BUFFER: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HubError {
    #[error("no agent of this cluster has a probe stream open; are the node agents running?")]
    NoAgent,
    #[error("node {0} has no probe stream open (its agent is not running or not connected)")]
    NodeNotAttached(String),
}

#[derive(Default)]
struct State {
    /// Per node, the newest attachment (an agent that reconnects replaces itself).
    agents: BTreeMap<String, (u64, mpsc::Sender<pb::ProbeAssignment>)>,
    runs: BTreeMap<u64, mpsc::Sender<pb::ProbeReport>>,
}

#[derive(Clone, Default)]
pub struct ProbeHub {
    state: Arc<Mutex<State>>,
    next_id: Arc<AtomicU64>,
}

/// Held by an agent's `Mesh.Probes` handler while its stream is open.
pub struct AgentAttachment {
    hub: ProbeHub,
    node: String,
    id: u64,
    pub assignments: mpsc::Receiver<pb::ProbeAssignment>,
}

/// Held by a `RunProbes` handler while the caller listens.
pub struct RunHandle {
    hub: ProbeHub,
    pub run_id: u64,
    agent: mpsc::Sender<pb::ProbeAssignment>,
    pub node: String,
    pub reports: mpsc::Receiver<pb::ProbeReport>,
}

impl ProbeHub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn attach(&self, node: &str) -> AgentAttachment {
        let (tx, rx) = mpsc::channel(ASSIGNMENT_BUFFER);
        let id = self.id();
        self.lock().agents.insert(node.to_owned(), (id, tx));
        AgentAttachment {
            hub: self.clone(),
            node: node.to_owned(),
            id,
            assignments: rx,
        }
    }

    /// Nodes with a probe stream open.
    pub fn attached(&self) -> Vec<String> {
        self.lock().agents.keys().cloned().collect()
    }

    /// Registers a run and hands `assignment` (its `run_id` filled in) to `node`'s
    /// agent, or to the first of `candidates` that is attached.
    pub async fn start(
        &self,
        node: Option<&str>,
        candidates: &[String],
        mut assignment: pb::ProbeAssignment,
    ) -> Result<RunHandle, HubError> {
        let (node, agent) = {
            let state = self.lock();
            let pick = |n: &str| {
                state
                    .agents
                    .get(n)
                    .map(|(_, tx)| (n.to_owned(), tx.clone()))
            };
            match node {
                Some(n) => pick(n).ok_or_else(|| HubError::NodeNotAttached(n.to_owned()))?,
                None => candidates
                    .iter()
                    .find_map(|n| pick(n))
                    .ok_or(HubError::NoAgent)?,
            }
        };
        let run_id = self.id();
        assignment.run_id = run_id;
        let (tx, reports) = mpsc::channel(REPORT_BUFFER);
        self.lock().runs.insert(run_id, tx);
        let handle = RunHandle {
            hub: self.clone(),
            run_id,
            agent: agent.clone(),
            node: node.clone(),
            reports,
        };
        if agent.send(assignment).await.is_err() {
            return Err(HubError::NodeNotAttached(node));
        }
        Ok(handle)
    }

    /// Hands an agent's report to its run's caller; waits while the caller is behind,
    /// and drops it when the run is gone. The last report (`done`) ends the run.
    pub async fn deliver(&self, report: pb::ProbeReport) {
        let (run_id, done) = (report.run_id, report.done);
        let run = self.lock().runs.get(&run_id).cloned();
        if let Some(run) = run {
            let _ = run.send(report).await;
            if done {
                self.lock().runs.remove(&run_id);
            }
        }
    }
}

impl Drop for AgentAttachment {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        if state
            .agents
            .get(&self.node)
            .is_some_and(|(id, _)| *id == self.id)
        {
            state.agents.remove(&self.node);
        }
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        let removed = self.hub.lock().runs.remove(&self.run_id).is_some();
        // Still running as far as we know: tell the agent to stop.
        if removed {
            let _ = self.agent.try_send(pb::ProbeAssignment {
                run_id: self.run_id,
                cancel: true,
                ..Default::default()
            });
        }
    }
}
