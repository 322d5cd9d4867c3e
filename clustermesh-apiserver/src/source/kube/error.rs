//! Errors of the Kubernetes-API source. Only construction and the initial sync can fail;
//! once running, API errors are retried with backoff and never reach the caller.

use std::fmt;
use std::time::Duration;

/// A fatal error: the Kubernetes source cannot start.
#[derive(Debug, thiserror::Error)]
pub enum KubeSourceError {
    #[error("kubeconfig context {context:?}: {source}")]
    Kubeconfig {
        context: String,
        #[source]
        source: ::kube::config::KubeconfigError,
    },
    /// No context was named, there is no usable kubeconfig and we are not in a pod.
    #[error("no Kubernetes configuration (current kubeconfig context or in-cluster): {0}")]
    Infer(#[source] ::kube::config::InferConfigError),
    #[error("Kubernetes client for {context}: {source}")]
    Client {
        /// The named context, or "the current context / in-cluster".
        context: String,
        #[source]
        source: ::kube::Error,
    },
    #[error(
        "Kubernetes API: initial list incomplete after {timeout:?}: {}",
        DisplayList(pending)
    )]
    NotReady {
        timeout: Duration,
        pending: Vec<NotListed>,
    },
    #[error("shut down before the initial list of the Kubernetes API completed")]
    ShutDown,
    #[error("kube source task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A resource whose initial list had not completed, with the last error its watcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotListed {
    pub resource: &'static str,
    pub last_error: Option<String>,
}

impl fmt::Display for NotListed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.last_error {
            Some(error) => write!(f, "{} ({error})", self.resource),
            None => write!(f, "{} (no response yet)", self.resource),
        }
    }
}

struct DisplayList<'a>(&'a [NotListed]);

impl fmt::Display for DisplayList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}
