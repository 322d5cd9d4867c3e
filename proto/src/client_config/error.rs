//! Errors of the ctl config file. Each names the file and, when one is at fault, the
//! context, because operators edit this file by hand.

use std::{io, path::PathBuf};

use crate::tls::TlsError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    #[error("cannot read the ctl config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The YAML does not have the expected shape (syntax, an unknown or missing field).
    #[error("ctl config {}: {reason}", path.display())]
    Parse { path: PathBuf, reason: String },
    /// `context` is the context's name as written, or its position when the name
    /// itself is the problem.
    #[error("ctl config {}: context {context}: {reason}", path.display())]
    InvalidContext {
        path: PathBuf,
        context: String,
        reason: String,
    },
    #[error("ctl config {}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("cannot write the ctl config {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no context named {name:?} in the ctl config (available: {available})")]
    NoSuchContext { name: String, available: String },
    #[error("the ctl config sets no current-context; name a context (available: {available})")]
    NoCurrentContext { available: String },
    #[error("cannot locate the ctl config: neither CLUSTERMESH_CONFIG nor HOME is set")]
    NoDefaultPath,
    #[error("context {context:?}: cannot read {what} {}: {source}", path.display())]
    ReadFile {
        context: String,
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// `files` lists the file (or files) the TLS error is about.
    #[error("context {context:?}: {files}: {source}")]
    Tls {
        context: String,
        files: String,
        #[source]
        source: TlsError,
    },
    #[error("context {context:?}: invalid apiserver endpoint {uri:?}: {reason}")]
    Endpoint {
        context: String,
        uri: String,
        reason: String,
    },
}
