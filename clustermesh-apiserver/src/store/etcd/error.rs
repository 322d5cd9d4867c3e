//! Maps etcd client errors onto [`StoreError`], by gRPC code first and by etcd's
//! (stable, documented in `rpctypes`) error text where one code covers several cases.

use std::future::Future;
use std::time::Duration;

use tonic::Code;

use crate::store::{Result, StoreError};

/// What an etcd failure means to the store, before call-site context is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// Retry later: no connection, no leader, a timeout.
    Unavailable(String),
    /// "required revision has been compacted".
    Compacted,
    /// "required revision is a future revision".
    FutureRevision(String),
    /// "requested lease not found", or a keep-alive answered with TTL 0.
    LeaseNotFound,
    /// Our client refused a response larger than its gRPC message limit.
    ResponseTooLarge(String),
    /// The server refused the request as malformed or too big.
    InvalidArgument(String),
    Other(String),
}

pub(super) fn classify(err: &etcd_client::Error) -> Failure {
    use etcd_client::Error as E;
    match err {
        E::GRpcStatus(status) => classify_status(status.code(), status.message()),
        E::TransportError(e) => Failure::Unavailable(format!("etcd transport: {e}")),
        E::IoError(e) => Failure::Unavailable(format!("etcd i/o: {e}")),
        // Raised by the client when a keep-alive is answered with TTL <= 0.
        E::LeaseKeepAliveError(msg) if msg.contains("lease not found") => Failure::LeaseNotFound,
        // A watch or keep-alive stream that could not be set up or was torn down.
        E::WatchError(msg) | E::LeaseKeepAliveError(msg) => {
            Failure::Unavailable(format!("etcd stream: {msg}"))
        }
        E::InvalidArgs(msg) => Failure::InvalidArgument(format!("etcd client: {msg}")),
        E::InvalidUri(e) => Failure::InvalidArgument(format!("etcd endpoint: {e}")),
        other => Failure::Other(other.to_string()),
    }
}

fn classify_status(code: Code, message: &str) -> Failure {
    let text = || format!("etcd: {message} ({code:?})");
    match code {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted => {
            Failure::Unavailable(text())
        }
        Code::OutOfRange if message.contains("has been compacted") => Failure::Compacted,
        Code::OutOfRange if message.contains("future revision") => Failure::FutureRevision(text()),
        // tonic's own decode limit ("decoded message length too large").
        Code::OutOfRange | Code::ResourceExhausted
            if message.contains("message length too large") =>
        {
            Failure::ResponseTooLarge(text())
        }
        Code::NotFound if message.contains("lease not found") => Failure::LeaseNotFound,
        // Too many ops, request too large, duplicate keys, empty key, ...
        Code::InvalidArgument => Failure::InvalidArgument(text()),
        // A broken HTTP/2 connection surfaces as Unknown with a transport message.
        Code::Unknown if message.contains("transport") || message.contains("connection") => {
            Failure::Unavailable(text())
        }
        _ => Failure::Other(text()),
    }
}

impl Failure {
    /// The store error when the call site has nothing to add. `lease` names the lease a
    /// "lease not found" refers to, if the request carried one.
    pub(super) fn into_store_error(self, lease: Option<i64>) -> StoreError {
        match self {
            Failure::Unavailable(reason) => StoreError::unavailable(reason),
            Failure::LeaseNotFound => match lease {
                Some(id) => StoreError::LeaseNotFound(id),
                None => StoreError::Backend("etcd: lease not found".into()),
            },
            Failure::FutureRevision(msg) | Failure::InvalidArgument(msg) => {
                StoreError::InvalidArgument(msg)
            }
            Failure::Compacted => {
                StoreError::Backend("etcd: required revision has been compacted".into())
            }
            Failure::ResponseTooLarge(msg) | Failure::Other(msg) => StoreError::Backend(msg),
        }
    }
}

/// The default mapping, for requests that carry no lease.
pub(super) fn store_error(err: etcd_client::Error) -> StoreError {
    classify(&err).into_store_error(None)
}

/// Runs one etcd request with the store's deadline. A request to an unreachable cluster
/// otherwise waits for a connection indefinitely.
pub(super) async fn with_deadline<T>(
    timeout: Duration,
    request: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, etcd_client::Error> {
    match tokio::time::timeout(timeout, request).await {
        Ok(result) => result,
        Err(_) => Err(etcd_client::Error::GRpcStatus(
            tonic::Status::deadline_exceeded(format!("no answer from etcd within {timeout:?}")),
        )),
    }
}

/// Shorthand for call sites that need no special cases.
pub(super) async fn call<T>(
    timeout: Duration,
    request: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T> {
    with_deadline(timeout, request).await.map_err(store_error)
}
