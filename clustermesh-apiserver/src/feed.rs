//! A store prefix as the bracketed watch protocol of `events.proto`. Both watch APIs
//! are this one feed with a different [`Scope`]: `Mesh.Watch` (every cluster, for this
//! cluster's agents) and `PeerExport.Watch` (this cluster's own exports, for peers).
//!
//! The feed owns the store watch and its recovery, so clients see only the protocol:
//! - no resume point, a resume point from another store history ([`epoch`]), one the
//!   store has compacted away, or one from the future: a fresh bracketed snapshot;
//! - a slow client the store cut off (`WatchLagged`): resumed where it was cut;
//! - the store briefly unavailable: retried with capped backoff.

mod convert;
pub mod epoch;
mod event;
mod task;

#[cfg(test)]
mod tests;

use std::{sync::Arc, time::Duration};

use clustermesh_proto::ClusterName;
use futures::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use crate::store::{Revision, Store, StoreError};

pub use event::FeedEvent;

/// Which records a feed carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every cluster's records and synced markers, and the importer's peer states.
    Mesh,
    /// One cluster's own records and synced markers: never what it imported, so the
    /// mesh stays a full mesh of direct relations.
    Exports(ClusterName),
}

impl Scope {
    fn prefix(&self) -> String {
        match self {
            Self::Mesh => String::new(),
            Self::Exports(cluster) => clustermesh_proto::cluster_prefix(cluster),
        }
    }
}

/// Where a client left off: the revision and epoch of its last `SnapshotEnd` or event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resume {
    pub revision: Revision,
    pub epoch: String,
}

/// Batches buffered per client before the feed waits for it; past that the store's own
/// watch budget decides when a slow client is cut and resumed. A batch is one store
/// response or one chunk of a snapshot: handing events over one at a time cost more
/// than anything else the feed does with them.
const BUFFER: usize = 16;

/// The events of one client's watch, in order. Ends on shutdown, on a store error that
/// retrying cannot fix, or when dropped.
pub type Feed =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<FeedEvent, StoreError>> + Send>>;

/// Starts a feed. `heartbeat` adds `Heartbeat` events at that interval (the peer
/// stream's liveness signal); the task behind the feed ends when the feed is dropped.
pub fn start(
    store: Arc<dyn Store>,
    epoch: Arc<str>,
    scope: Scope,
    resume: Resume,
    heartbeat: Option<Duration>,
    shutdown: CancellationToken,
) -> Feed {
    let (tx, rx) = tokio::sync::mpsc::channel(BUFFER);
    task::spawn(task::FeedTask {
        store,
        epoch,
        prefix: scope.prefix(),
        scope,
        resume,
        heartbeat,
        shutdown,
        tx,
    });
    Box::pin(ReceiverStream::new(rx).flat_map(|batch| {
        let events: Vec<Result<FeedEvent, StoreError>> = match batch {
            Ok(events) => events.into_iter().map(Ok).collect(),
            Err(error) => vec![Err(error)],
        };
        futures::stream::iter(events)
    }))
}
