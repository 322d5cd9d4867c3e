//! Errors of the manifest source: per-file problems, which leave the last good content of
//! that file in force, and fatal ones, which stop the source from starting.

use std::fmt;
use std::path::PathBuf;

/// A problem with one manifest file (or the directory). It is reported in
/// [`SourceState::errors`](super::SourceState) while the previous good objects of the
/// file stay in force, and it clears once the file is fixed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManifestError {
    pub file: PathBuf,
    /// 1-based line within the file, absolute across documents, when one is known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `file:line: message` is what editors and CI annotators recognise as a location.
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for ManifestError {}

/// A fatal error: the manifest source cannot run at all.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("manifest directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest directory {}: not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("watching manifest directory {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error("manifest watcher task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
