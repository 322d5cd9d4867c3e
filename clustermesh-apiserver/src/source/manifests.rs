//! The `manifests:PATH` source: a directory of Kubernetes YAML, watched for changes.
//!
//! Each file is parsed on its own and its last good objects stay in force while it is
//! broken, so a typo never withdraws a cluster's services. File-system notifications are
//! debounced and only the files they name are re-read; the merged [`ClusterObjects`] is
//! published on a `watch` channel with a generation that increases on every change.

mod dir_state;
mod error;
mod object;
mod parse;
mod scan;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use tracing::Instrument;

pub use error::{ManifestError, SourceError};
pub use object::{KubeObject, ObjectKey, SourceObject};
pub use parse::parse_manifests;

use super::ClusterObjects;
use dir_state::DirState;

/// What the source currently holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceState {
    pub objects: Arc<ClusterObjects>,
    /// Problems with files (or the directory), ordered by file. The objects of a file
    /// with an error are those of its last good content.
    pub errors: Vec<ManifestError>,
    /// 1 after the initial load; increases by one with every published change.
    pub generation: u64,
}

/// A running manifest source. It owns the watcher task: dropping it stops the task, as
/// does `shutdown` or dropping every receiver of the state.
#[derive(Debug)]
#[must_use = "dropping the ManifestSource stops watching the directory"]
pub struct ManifestSource {
    dir: PathBuf,
    task: AbortOnDropHandle<()>,
}

impl ManifestSource {
    /// Loads `dir` and starts watching it. Fails if the directory is missing, is not a
    /// directory, cannot be listed, or cannot be watched; problems with individual files
    /// are not fatal and show up in [`SourceState::errors`].
    pub async fn start(
        dir: impl Into<PathBuf>,
        shutdown: CancellationToken,
    ) -> Result<(Self, tokio::sync::watch::Receiver<SourceState>), SourceError> {
        let dir = dir.into();
        let directory_error = |source| SourceError::Directory {
            path: dir.clone(),
            source,
        };
        let meta = tokio::fs::metadata(&dir).await.map_err(directory_error)?;
        if !meta.is_dir() {
            return Err(SourceError::NotADirectory { path: dir });
        }
        // Listing is what the source does; a directory without read permission fails here.
        drop(tokio::fs::read_dir(&dir).await.map_err(directory_error)?);

        // Watch before the first scan, so that nothing written in between is missed; a
        // change the scan already saw costs only a content comparison later.
        let events = watch::EventStream::new(&dir)?;
        let mut state = DirState::new(dir.clone());
        scan::rescan(&mut state).await;
        let (objects, errors) = state.merged();
        watch::log_changed_errors(&[], &errors);
        let (tx, rx) = tokio::sync::watch::channel(SourceState {
            objects: Arc::new(objects),
            errors,
            generation: 1,
        });

        let span = tracing::info_span!("manifests", dir = %dir.display());
        let task = tokio::spawn(watch::run(state, events, tx, shutdown).instrument(span));
        Ok((
            Self {
                dir,
                task: AbortOnDropHandle::new(task),
            },
            rx,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waits for the watcher task to end: after shutdown, or once every receiver of
    /// the state has been dropped. An error means the task panicked.
    pub async fn stopped(self) -> Result<(), SourceError> {
        Ok(self.task.await?)
    }
}

#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;
