//! Clusters in this process for the control-plane scenarios (sync, propagation,
//! agent-memory): real apiservers on loopback over mTLS, connected with `ctl`'s own
//! `connect`, each fed by a source the bench publishes to directly. A manifest
//! directory or the Kubernetes API would put their own parsing in the measured path;
//! the apiserver sees the same `SourceState` either way.

pub mod agent_view;
pub mod cluster;
pub mod connect;
pub mod workload;

pub use agent_view::AgentView;
pub use cluster::{MeshCluster, StoreKind};
pub use connect::connect;
