//! The clustermesh apiserver: one per cluster. It exports the cluster's state into a
//! replicated [`store`], imports its peers' exports, and serves node agents and `ctl`.

pub mod export;
pub mod source;
pub mod store;
