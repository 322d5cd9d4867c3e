//! Why a data directory could not be created or used. Messages name the file, since
//! an operator has to go and fix it.

use std::{io, path::PathBuf};

use clustermesh_proto::tls::TlsError;

use super::files::WriteFilesError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataDirError {
    #[error(
        "data directory {} is already initialized (it holds {existing}); refusing to overwrite its keys",
        dir.display()
    )]
    AlreadyInitialized { dir: PathBuf, existing: String },

    #[error(
        "data directory {} does not exist; create it with `clustermesh-apiserver init`",
        .0.display()
    )]
    NotFound(PathBuf),

    #[error(
        "data directory {} is not initialized (no {file}); create it with `clustermesh-apiserver init`",
        dir.display()
    )]
    NotInitialized { dir: PathBuf, file: &'static str },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Named after ssh's refusal, which operators know.
    #[error(
        "permissions {mode:04o} for {} are too open: a private key must not be accessible by group or others (chmod 600 it)",
        path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },

    /// Creating the directory or writing its files failed.
    #[error(transparent)]
    Write(WriteFilesError),

    /// The file is readable but its contents are wrong.
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },

    #[error("{}: {source}", path.display())]
    Tls {
        path: PathBuf,
        #[source]
        source: TlsError,
    },

    /// Generating keys or certificates failed.
    #[error("{what}: {source}")]
    Generate {
        what: String,
        #[source]
        source: TlsError,
    },
}

impl DataDirError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| DataDirError::Io { path, source }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        DataDirError::Invalid {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
