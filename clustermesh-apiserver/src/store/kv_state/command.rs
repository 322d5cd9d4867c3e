//! The commands `KvState` applies and what applying them returns.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::store::{
    Cas, CasAction, CasOutcome, DeleteOutcome, LeaseId, Revision, StoreError, WriteOp,
};

/// A write, as it is proposed to the raft log or applied to the memory store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Put {
        key: String,
        value: Bytes,
        lease: Option<LeaseId>,
    },
    Delete {
        key: String,
    },
    DeletePrefix {
        prefix: String,
    },
    Batch(Vec<WriteOp>),
    Cas(Cas),
    GrantLease {
        ttl_ms: u64,
    },
    RevokeLease {
        id: LeaseId,
    },
    /// Decided by whoever keeps the lease clock (the memory store, the raft leader).
    ExpireLeases {
        ids: Vec<LeaseId>,
    },
    Compact {
        revision: Revision,
    },
    /// Independent writes committed together (group commit). Each is applied in order
    /// at its own revision and succeeds or fails on its own.
    Group(Vec<Command>),
}

impl Command {
    /// Roughly how many bytes the command carries, for sizing groups.
    pub fn approx_size(&self) -> usize {
        let op_size = |op: &WriteOp| match op {
            WriteOp::Put { key, value, .. } => key.len() + value.len() + 16,
            WriteOp::Delete { key } => key.len() + 8,
        };
        match self {
            Command::Put { key, value, .. } => key.len() + value.len() + 16,
            Command::Delete { key } => key.len() + 8,
            Command::DeletePrefix { prefix } => prefix.len() + 8,
            Command::Batch(ops) => ops.iter().map(op_size).sum(),
            Command::Cas(cas) => {
                cas.key.len()
                    + 24
                    + match &cas.action {
                        CasAction::Put { value, .. } => value.len(),
                        CasAction::Delete => 0,
                    }
            }
            Command::ExpireLeases { ids } => ids.len() * 8,
            Command::Group(cmds) => cmds.iter().map(Command::approx_size).sum(),
            Command::GrantLease { .. } | Command::RevokeLease { .. } | Command::Compact { .. } => {
                16
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResponse {
    Revision(Revision),
    Deleted(DeleteOutcome),
    Cas(CasOutcome),
    LeaseGranted { id: LeaseId, ttl_ms: u64 },
    Done,
    Group(Vec<Result<CommandResponse, StoreError>>),
}
