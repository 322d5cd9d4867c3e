//! The clustermesh node agent: one per node. It watches the local apiserver, plans the
//! desired dataplane with a pure planner and applies it through executors (WireGuard,
//! routes, nftables).
//!
//! This crate holds the agent's pure core, with no I/O at all:
//! - [`view`]: the merged view of every cluster's records, built from `Mesh.Watch`
//!   events with the snapshot protocol of `events.proto`;
//! - [`plan`]: the desired dataplane computed from that view, and the diff against what
//!   the executors observe, as a list of [`plan::Change`]s.

pub mod agent;
pub mod cli;
pub mod config;
pub mod conntrack;
pub mod exec;
pub mod nft;
pub mod observability;
pub mod plan;
pub mod preflight;
pub mod probe;
pub mod reconcile;
pub mod routes;
pub mod view;
pub mod wireguard;

#[cfg(test)]
mod fixtures;
#[cfg(any(test, feature = "test-util"))]
pub mod netns_testing;

pub use plan::{
    BackendTarget, Change, DesiredState, LocalNode, ObservedState, PeerSpec, PlanConfig,
    ServiceBackends, ServiceFrontend, desired::compute, diff::plan,
};
pub use view::{EndpointRef, MergedView, ResumePoint, ServiceName, ViewError};
