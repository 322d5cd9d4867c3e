//! The configuration of `clustermesh-apiserver run`: the flags ([`RunArgs`], each
//! also read from a `CLUSTERMESH_*` variable) and the validated [`RunConfig`] they turn
//! into. Everything is checked before any port is bound, and every refusal names the
//! flag and the value.

mod duration;
mod error;
mod listen;
mod store;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

pub use self::{
    duration::parse_duration,
    error::ConfigError,
    store::{RaftPeer, StoreSpec},
};
use crate::data_dir::DataDir;

/// A peer is asked for four heartbeats per timeout, at most one per 100 ms; a timeout
/// of minutes would leave a dead peer's backends in load balancing far too long.
pub use clustermesh_proto::PEER_TIMEOUT_MIN;
pub const PEER_TIMEOUT_MAX: Duration = Duration::from_secs(5 * 60);

/// Agents renew their lease at a fraction of the TTL; below a second, renewals would
/// be constant and a GC pause would expire healthy nodes.
pub const NODE_LEASE_TTL_MIN: Duration = Duration::from_secs(1);

/// Flags of `clustermesh-apiserver run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The data directory created by `clustermesh-apiserver init`.
    #[arg(long, env = "CLUSTERMESH_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Where to serve agents, peers and ctl (mTLS gRPC).
    #[arg(long, env = "CLUSTERMESH_LISTEN", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// What to export: `manifests:PATH` (a directory of YAML), `kube` (the current
    /// kubeconfig context) or `kube:CONTEXT`.
    #[arg(long, env = "CLUSTERMESH_SOURCE", value_name = "SOURCE")]
    pub source: String,

    /// `raft` (embedded, replicated with --raft-peers), `memory` (for tests and demos:
    /// nothing survives a restart) or `etcd://HOST:PORT,HOST:PORT`.
    #[arg(
        long,
        env = "CLUSTERMESH_STORE",
        value_name = "STORE",
        default_value = "raft"
    )]
    pub store: String,

    /// The raft replication port; required with --raft-peers.
    #[arg(long, env = "CLUSTERMESH_RAFT_LISTEN", value_name = "ADDR")]
    pub raft_listen: Option<SocketAddr>,

    /// This replica's raft node id (default 1).
    #[arg(long, env = "CLUSTERMESH_RAFT_NODE_ID", value_name = "N")]
    pub raft_node_id: Option<u64>,

    /// Every replica, this one included, as `ID=IP:PORT,...` (1, 3 or 5 of them).
    /// Absent: a single replica.
    #[arg(long, env = "CLUSTERMESH_RAFT_PEERS", value_name = "PEERS")]
    pub raft_peers: Option<String>,

    /// Where to serve /metrics, /healthz and /readyz over plain HTTP.
    #[arg(long, env = "CLUSTERMESH_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,

    /// How long a peer may be silent before it counts as down (e.g. 3s, 500ms, 1m); the
    /// peer is asked for a heartbeat every quarter of it (between 100ms and 1s).
    #[arg(
        long,
        env = "CLUSTERMESH_PEER_TIMEOUT",
        value_name = "DURATION",
        default_value = "3s"
    )]
    pub peer_timeout: String,

    /// How long a down peer's last exports are kept: `keep` (until it returns) or a
    /// duration.
    #[arg(
        long,
        env = "CLUSTERMESH_PEER_CACHE_TTL",
        value_name = "TTL",
        default_value = "keep"
    )]
    pub peer_cache_ttl: String,

    /// How long a node stays registered without renewing its lease (at least 1s).
    #[arg(
        long,
        env = "CLUSTERMESH_NODE_LEASE_TTL",
        value_name = "DURATION",
        default_value = "3s"
    )]
    pub node_lease_ttl: String,

    /// How `run` logs to stderr (the level comes from RUST_LOG, default info).
    #[arg(long, env = "CLUSTERMESH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the apiserver reads its cluster's state from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A directory of YAML manifests, watched for changes.
    Manifests(PathBuf),
    /// The Kubernetes API, through the named kubeconfig context or the current one.
    Kube { context: Option<String> },
}

/// The validated configuration of `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// An initialized data directory; `DataDir::open` succeeded on it.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub source: SourceSpec,
    pub store: StoreSpec,
    pub metrics_listen: Option<SocketAddr>,
    pub peer_timeout: Duration,
    /// `None`: keep a down peer's exports until it returns.
    pub peer_cache_ttl: Option<Duration>,
    pub node_lease_ttl: Duration,
    pub log_format: LogFormat,
}

impl RunArgs {
    /// Checks every flag, and that the data directory opens, without binding anything.
    pub fn validate(self) -> Result<RunConfig, ConfigError> {
        let source = parse_source(&self.source)?;
        let store = store::parse(&self)?;
        let peer_timeout = duration::flag("--peer-timeout", &self.peer_timeout)?;
        if peer_timeout < PEER_TIMEOUT_MIN || peer_timeout > PEER_TIMEOUT_MAX {
            return Err(ConfigError::flag(
                "--peer-timeout",
                format!(
                    "{} is out of range: it must be at least {} (four heartbeats at the \
                     fastest rate a peer sends them) and at most {}",
                    duration::shown(peer_timeout),
                    duration::shown(PEER_TIMEOUT_MIN),
                    duration::shown(PEER_TIMEOUT_MAX)
                ),
            ));
        }
        let peer_cache_ttl = match self.peer_cache_ttl.as_str() {
            "keep" => None,
            ttl => Some(duration::flag("--peer-cache-ttl", ttl).and_then(|ttl| {
                duration::at_least("--peer-cache-ttl", ttl, Duration::from_secs(1))
            })?),
        };
        let node_lease_ttl = duration::flag("--node-lease-ttl", &self.node_lease_ttl)?;
        duration::at_least("--node-lease-ttl", node_lease_ttl, NODE_LEASE_TTL_MIN)?;
        listen::check_distinct(&[
            ("--listen", Some(self.listen)),
            ("--raft-listen", self.raft_listen),
            ("--metrics-listen", self.metrics_listen),
        ])?;
        DataDir::open(&self.data_dir).map_err(|source| ConfigError::DataDir {
            path: self.data_dir.clone(),
            source,
        })?;
        Ok(RunConfig {
            data_dir: self.data_dir,
            listen: self.listen,
            source,
            store,
            metrics_listen: self.metrics_listen,
            peer_timeout,
            peer_cache_ttl,
            node_lease_ttl,
            log_format: self.log_format,
        })
    }
}

/// `manifests:PATH` (an existing directory), `kube` or `kube:CONTEXT`.
fn parse_source(value: &str) -> Result<SourceSpec, ConfigError> {
    let flag = "--source";
    if let Some(path) = value.strip_prefix("manifests:") {
        let path = PathBuf::from(path);
        return match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => Ok(SourceSpec::Manifests(path)),
            Ok(_) => Err(ConfigError::flag(
                flag,
                format!("{} is not a directory", path.display()),
            )),
            Err(e) => Err(ConfigError::flag(
                flag,
                format!("manifests directory {}: {e}", path.display()),
            )),
        };
    }
    match value.strip_prefix("kube") {
        Some("") => Ok(SourceSpec::Kube { context: None }),
        Some(rest) => match rest.strip_prefix(':') {
            Some(context) if !context.trim().is_empty() => Ok(SourceSpec::Kube {
                context: Some(context.to_owned()),
            }),
            _ => Err(bad_source(value)),
        },
        None => Err(bad_source(value)),
    }
}

fn bad_source(value: &str) -> ConfigError {
    ConfigError::flag(
        "--source",
        format!("{value:?} is not manifests:PATH, kube or kube:CONTEXT"),
    )
}

#[cfg(test)]
mod tests;
