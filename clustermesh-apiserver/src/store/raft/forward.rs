//! Requests a replica sends to its leader: writes, read-index and lease keep-alives.

use serde::{Deserialize, Serialize};

use super::type_config::LogId;
use crate::store::{Command, CommandResponse, LeaseId, StoreError};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ForwardRequest {
    Write(Command),
    /// The log id a linearizable read must wait for (raft's read-index).
    ReadIndex,
    KeepAlive(LeaseId),
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ForwardReply {
    Written(CommandResponse),
    ReadIndex(Option<LogId>),
    KeptAlive,
}

/// The leader's answer. `NotLeader` guarantees nothing was executed, so it is retried.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ForwardOutcome {
    Done(Result<ForwardReply, StoreError>),
    NotLeader,
}
