use super::Revision;

/// What a store operation can fail with.
///
/// Callers branch on the variant: `Compacted` and `WatchLagged` mean "relist or resume",
/// `Unavailable` means "retry with backoff", the rest are final for that request.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StoreError {
    #[error("revision {requested} has been compacted (oldest available is after {compacted})")]
    Compacted {
        requested: Revision,
        compacted: Revision,
    },

    #[error("watch fell behind and was cut; resume after revision {resume_after}")]
    WatchLagged { resume_after: Revision },

    #[error("lease {0} not found (expired or revoked)")]
    LeaseNotFound(i64),

    #[error("invalid request: {0}")]
    InvalidArgument(String),

    #[error("store unavailable: {reason}")]
    Unavailable {
        reason: String,
        /// The address of the current leader, when a replica knows it.
        leader_hint: Option<String>,
    },

    #[error("store closed")]
    Closed,

    #[error("store backend failure: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        StoreError::Unavailable {
            reason: reason.into(),
            leader_hint: None,
        }
    }

    /// True when the same request may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}
