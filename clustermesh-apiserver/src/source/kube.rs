//! The Kubernetes API as a source, through kube-rs watchers.
