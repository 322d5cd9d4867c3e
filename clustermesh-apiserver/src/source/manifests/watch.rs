//! The watcher task: file-system notifications in, debounced reloads, new
//! [`SourceState`]s out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::dir_state::{DirState, is_manifest_name};
use super::{ManifestError, SourceError, SourceState, scan};

/// How long the directory must stay quiet before a burst of events is applied: an
/// editor's save is several events (write temp, rename, chmod) within a few ms.
const QUIET: Duration = Duration::from_millis(50);
/// Upper bound on the debounce, so that a steady stream of writes still shows up well
/// within the one-second promise.
const MAX_DELAY: Duration = Duration::from_millis(250);
/// Events buffered between notify's thread and the task; on overflow we rescan instead.
const EVENT_BUFFER: usize = 1024;
/// While the directory itself is gone, its watch is gone too: look for it this often.
const DIR_RETRY: Duration = Duration::from_secs(1);

/// Notifications for one directory. Dropping it stops notify's watcher.
pub(crate) struct EventStream {
    events: mpsc::Receiver<notify::Result<Event>>,
    /// Set by notify's thread when `events` was full and an event was dropped.
    overflow: Arc<AtomicBool>,
    _watcher: RecommendedWatcher,
}

impl EventStream {
    pub(crate) fn new(dir: &Path) -> Result<Self, SourceError> {
        let (tx, events) = mpsc::channel(EVENT_BUFFER);
        let overflow = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&overflow);
        // Runs on notify's own thread: never block it, hence `try_send`.
        let handler = move |event: notify::Result<Event>| {
            if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(event) {
                flag.store(true, Ordering::Relaxed);
            }
        };
        let watch_error = |source| SourceError::Watch {
            path: dir.to_path_buf(),
            source,
        };
        let mut watcher = notify::recommended_watcher(handler).map_err(watch_error)?;
        // Non-recursive, like `kubectl apply -f DIR`.
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(watch_error)?;
        Ok(Self {
            events,
            overflow,
            _watcher: watcher,
        })
    }
}

/// What a batch of events asks for: specific files, or the whole directory.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    pub(crate) files: BTreeSet<PathBuf>,
    pub(crate) rescan: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.files.is_empty() && !self.rescan
    }

    pub(crate) fn add(&mut self, dir: &Path, event: notify::Result<Event>) {
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                tracing::warn!(error = %err, "file watcher error; rescanning the directory");
                self.rescan = true;
                return;
            }
        };
        if event.need_rescan() || event.paths.is_empty() {
            self.rescan = true;
            return;
        }
        let structural = match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => false,
            // Opens and reads (our own included) change nothing; reacting would loop.
            EventKind::Access(_) => return,
            EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Name(_)) => true,
            _ => false,
        };
        for path in &event.paths {
            match path.file_name() {
                Some(name) if path != dir && is_manifest_name(name) => {
                    self.files.insert(dir.join(name));
                }
                // The directory itself, or a non-manifest entry appearing or going: a
                // ConfigMap volume swaps its `..data` symlink like that, so re-read all.
                _ if structural || path == dir => self.rescan = true,
                // Content changes of editor swap files and the like.
                _ => {}
            }
        }
    }
}

/// Runs until `shutdown`, or until every receiver of the state is gone.
pub(crate) async fn run(
    mut state: DirState,
    mut stream: EventStream,
    tx: watch::Sender<SourceState>,
    shutdown: CancellationToken,
) {
    loop {
        let mut pending = Pending::default();
        let dir_missing = state.has_dir_error();
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tx.closed() => break,
            event = stream.events.recv() => match event {
                Some(event) => pending.add(state.dir(), event),
                None => break,
            },
            () = tokio::time::sleep(DIR_RETRY), if dir_missing => {
                // A deleted (or moved) directory takes its watch along; once something
                // is there again, watch it anew before reading it.
                match EventStream::new(state.dir()) {
                    Ok(fresh) => stream = fresh,
                    Err(err) => tracing::debug!(error = %err, "manifest directory still unavailable"),
                }
                pending.rescan = true;
            }
        }
        if stream.overflow.swap(false, Ordering::Relaxed) {
            pending.rescan = true;
        }
        if pending.is_empty() {
            continue;
        }
        if !debounce(&mut stream, state.dir(), &mut pending, &shutdown).await {
            break;
        }
        if stream.overflow.swap(false, Ordering::Relaxed) {
            pending.rescan = true;
        }
        if apply(&mut state, pending).await {
            publish(&state, &tx);
        }
    }
    tracing::debug!("manifest watcher stopped");
}

/// Collects further events until the directory is quiet. False on shutdown.
async fn debounce(
    stream: &mut EventStream,
    dir: &Path,
    pending: &mut Pending,
    shutdown: &CancellationToken,
) -> bool {
    let limit = Instant::now() + MAX_DELAY;
    loop {
        let quiet = (Instant::now() + QUIET).min(limit);
        tokio::select! {
            () = shutdown.cancelled() => return false,
            () = tokio::time::sleep_until(quiet) => return true,
            event = stream.events.recv() => match event {
                Some(event) => pending.add(dir, event),
                None => return true,
            },
        }
    }
}

async fn apply(state: &mut DirState, pending: Pending) -> bool {
    if pending.rescan {
        return scan::rescan(state).await;
    }
    let mut changed = false;
    for file in &pending.files {
        changed |= scan::reload(state, file).await;
    }
    changed
}

/// Publishes the merged view if it differs from the current one.
pub(crate) fn publish(state: &DirState, tx: &watch::Sender<SourceState>) {
    let (objects, errors) = state.merged();
    let generation = {
        let current = tx.borrow();
        if *current.objects == objects && current.errors == errors {
            return;
        }
        log_changed_errors(&current.errors, &errors);
        current.generation + 1
    };
    tracing::debug!(generation, errors = errors.len(), "manifests changed");
    tx.send_replace(SourceState {
        objects: Arc::new(objects),
        errors,
        generation,
    });
}

/// Logs each error once, when it first appears, and notes when one goes away.
pub(crate) fn log_changed_errors(old: &[ManifestError], new: &[ManifestError]) {
    for e in new.iter().filter(|e| !old.contains(e)) {
        tracing::warn!(file = %e.file.display(), line = e.line, error = %e.message,
            "invalid manifest; the file's last good objects stay in force");
    }
    for e in old.iter().filter(|e| !new.contains(e)) {
        tracing::info!(file = %e.file.display(), line = e.line, "manifest error resolved");
    }
}
