//! The clustermesh apiserver: one per cluster. It exports the cluster's state into a
//! replicated [`store`], imports its peers' exports, and serves node agents and `ctl`.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod data_dir;
pub mod drill;
pub mod export;
pub mod exporter;
pub mod feed;
pub mod huge_pages;
pub mod import;
pub mod layout;
pub mod observability;
pub mod report;
pub mod server;
pub mod source;
pub mod store;
