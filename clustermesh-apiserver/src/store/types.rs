use std::fmt;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// The store's logical clock: advanced by one for every write.
pub type Revision = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LeaseId(pub i64);

impl fmt::Display for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    pub create_revision: Revision,
    pub mod_revision: Revision,
    pub lease: Option<LeaseId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Put(KeyValue),
    Delete { key: String, revision: Revision },
}

impl Event {
    pub fn key(&self) -> &str {
        match self {
            Event::Put(kv) => &kv.key,
            Event::Delete { key, .. } => key,
        }
    }

    pub fn revision(&self) -> Revision {
        match self {
            Event::Put(kv) => kv.mod_revision,
            Event::Delete { revision, .. } => *revision,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    pub revision: Revision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteOutcome {
    pub deleted: u64,
    /// The revision of the delete, or the current revision when nothing was deleted.
    pub revision: Revision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteOp {
    Put {
        key: String,
        value: Bytes,
        lease: Option<LeaseId>,
    },
    Delete {
        key: String,
    },
}

impl WriteOp {
    pub fn key(&self) -> &str {
        match self {
            WriteOp::Put { key, .. } | WriteOp::Delete { key } => key,
        }
    }
}

/// `put KEY` or `delete KEY`: what a write does, without its value.
impl std::fmt::Display for WriteOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteOp::Put { key, .. } => write!(f, "put {key}"),
            WriteOp::Delete { key } => write!(f, "delete {key}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cas {
    pub key: String,
    /// `None`: the key must not exist. `Some(r)`: its mod revision must be `r`.
    pub expected_mod_revision: Option<Revision>,
    pub action: CasAction,
}

impl Cas {
    /// Puts `value` at `key` only if the key does not exist yet, without a lease.
    pub fn create(key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        Self {
            key: key.into(),
            expected_mod_revision: None,
            action: CasAction::Put {
                value: value.into(),
                lease: None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CasAction {
    Put {
        value: Bytes,
        lease: Option<LeaseId>,
    },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CasOutcome {
    Swapped { revision: Revision },
    Conflict { current: Option<KeyValue> },
}

/// Events of one or more whole revisions, in revision order. A revision is never split
/// across two responses, so the last event's revision is always a safe resume point.
///
/// The events are shared: a write's events are built once, and the store's history and
/// every watcher that takes all of them hold the same allocation. Cloning them per
/// watcher was a third of a large import's store CPU, mostly in faulting in the copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchResponse {
    pub events: Arc<[Event]>,
}

impl WatchResponse {
    pub fn last_revision(&self) -> Option<Revision> {
        self.events.last().map(Event::revision)
    }
}

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchResponse, StoreError>> + Send>>;
