//! What can go wrong, in the operator's terms: every error about an apiserver names
//! the context, the address and the cause, and most carry a hint of what to run next.

mod cause;

use std::{io, time::Duration};

use clustermesh_proto::client_config::ClientConfigError;

pub use self::cause::Cause;
use crate::duration::format_duration;

/// Exit status of a usage error (bad flags, contradictory arguments), as clap uses.
pub const EXIT_USAGE: u8 = 2;
/// Exit status of a failure, or of a mesh that is not healthy.
pub const EXIT_FAILURE: u8 = 1;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtlError {
    /// The arguments contradict each other in a way clap cannot see.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ClientConfigError),
    /// A call to one context's apiserver failed.
    #[error("context {context}, apiserver {address}: {cause} ({call})")]
    Api {
        context: String,
        address: String,
        call: &'static str,
        cause: Cause,
    },
    /// `connect` found the pair unfit before changing anything.
    #[error("refusing to connect {a} and {b}:{}", bullets(problems))]
    Refused {
        a: String,
        b: String,
        problems: Vec<String>,
    },
    #[error("timed out after {} waiting for {what}{}", format_duration(*after), last_seen(last))]
    Timeout {
        after: Duration,
        what: String,
        /// The state or error seen last, so the operator knows where it got stuck.
        last: Option<String>,
    },
    /// An apiserver answered with something its contract rules out.
    #[error("context {context}, apiserver {address}: invalid {call} answer: {reason}")]
    BadAnswer {
        context: String,
        address: String,
        call: &'static str,
        reason: String,
    },
    #[error("cannot write the output: {0}")]
    Output(#[from] io::Error),
}

impl CtlError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// What the operator could run or check next.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Api { address, cause, .. } => cause.hint(address),
            Self::Config(
                ClientConfigError::NoSuchContext { .. } | ClientConfigError::NoCurrentContext { .. },
            ) => Some("list the contexts with `ctl context list`".into()),
            Self::Config(ClientConfigError::ReadFile { .. } | ClientConfigError::Tls { .. }) => {
                Some("fix the files the context names, or add it again with `clustermesh-apiserver init`".into())
            }
            Self::Timeout { .. } => Some(
                "see what is missing with `ctl status`; raise the limit with --timeout".into(),
            ),
            _ => None,
        }
    }

    /// Whether retrying the same call may succeed: the apiserver said so itself
    /// (`Unavailable`), as opposed to being down or refusing the request.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Api {
                cause: Cause::Unavailable(_),
                ..
            }
        )
    }

    /// The gRPC code the apiserver answered with, when it answered.
    pub fn answered(&self) -> Option<tonic::Code> {
        match self {
            Self::Api {
                cause: Cause::Answer { code, .. },
                ..
            } => Some(*code),
            _ => None,
        }
    }
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|i| format!("\n  - {i}")).collect()
}

fn last_seen(last: &Option<String>) -> String {
    last.as_ref()
        .map(|l| format!("; last seen: {l}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
