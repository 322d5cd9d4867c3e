//! `node-agent run` flags, validated into an [`AgentConfig`] before anything acts.

use std::{net::IpAddr, net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;
use clustermesh_proto::{
    ClusterName, HostPort,
    tls::{PeerIdentity, Role},
};

use crate::wireguard::{BackendChoice, Userspace};

#[cfg(test)]
mod tests;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// This node's name; must be the name in the agent certificate.
    #[arg(long, env = "CLUSTERMESH_NODE_NAME")]
    pub node_name: String,
    /// The local apiserver, `https://HOST:PORT`.
    #[arg(long, env = "CLUSTERMESH_APISERVER")]
    pub apiserver: String,
    /// The cluster CA certificate (PEM).
    #[arg(long, env = "CLUSTERMESH_CA")]
    pub ca: PathBuf,
    /// The agent certificate from `clustermesh-apiserver issue-cert --role agent`.
    #[arg(long, env = "CLUSTERMESH_CERT")]
    pub cert: PathBuf,
    #[arg(long, env = "CLUSTERMESH_KEY")]
    pub key: PathBuf,
    /// Where the WireGuard key pair lives (created on first start).
    #[arg(long, env = "CLUSTERMESH_STATE_DIR")]
    pub state_dir: PathBuf,
    /// auto, kernel, userspace or wireguard-go.
    #[arg(long, env = "CLUSTERMESH_WIREGUARD", default_value = "auto")]
    pub wireguard: String,
    /// The userspace implementation, when the device is userspace: wireguard-go or
    /// boringtun (`boringtun-cli` on PATH).
    #[arg(
        long,
        env = "CLUSTERMESH_WIREGUARD_USERSPACE",
        default_value = "wireguard-go"
    )]
    pub wireguard_userspace: String,
    #[arg(long, env = "CLUSTERMESH_WG_INTERFACE", default_value = "cmwg0")]
    pub wg_interface: String,
    #[arg(long, env = "CLUSTERMESH_WG_PORT", default_value_t = 51820)]
    pub wg_port: u16,
    /// The address peers reach this node's WireGuard port on.
    #[arg(long, env = "CLUSTERMESH_UNDERLAY_ADDRESS")]
    pub underlay_address: Option<IpAddr>,
    /// WireGuard persistent keepalive, in seconds; 0 disables it. On by default: nodes
    /// in different clouds are often behind NAT, and it keeps handshakes fresh, which
    /// is what the tunnel report counts as up.
    #[arg(long, env = "CLUSTERMESH_KEEPALIVE", default_value_t = 25)]
    pub keepalive: u64,
    /// Serve `/metrics`, `/healthz` and `/readyz` here (e.g. `0.0.0.0:9962`); off when
    /// unset.
    #[arg(long, env = "CLUSTERMESH_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// Everything `run` needs, checked.
#[derive(Clone)]
pub struct AgentConfig {
    pub node: String,
    pub cluster: ClusterName,
    pub apiserver: HostPort,
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub state_dir: PathBuf,
    pub backend: BackendChoice,
    pub userspace: Userspace,
    pub interface: String,
    pub wg_port: u16,
    pub endpoint: Option<SocketAddr>,
    pub keepalive: Option<Duration>,
    pub metrics_listen: Option<SocketAddr>,
}

// Hand-written so that the key never reaches a log.
impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("node", &self.node)
            .field("cluster", &self.cluster)
            .field("apiserver", &self.apiserver)
            .field("state_dir", &self.state_dir)
            .field("interface", &self.interface)
            .field("wg_port", &self.wg_port)
            .field("metrics_listen", &self.metrics_listen)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{flag}: {reason}")]
pub struct ConfigError {
    pub flag: &'static str,
    pub reason: String,
}

fn bad(flag: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        flag,
        reason: reason.into(),
    }
}

impl RunArgs {
    pub fn validate(self) -> Result<AgentConfig, ConfigError> {
        let apiserver = self
            .apiserver
            .strip_prefix("https://")
            .ok_or_else(|| {
                bad(
                    "--apiserver",
                    format!("{:?} must start with https://", self.apiserver),
                )
            })?
            .trim_end_matches('/')
            .parse::<HostPort>()
            .map_err(|e| bad("--apiserver", e.to_string()))?;
        let read = |flag, path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|e| bad(flag, format!("{}: {e}", path.display())))
        };
        let ca_pem = read("--ca", &self.ca)?;
        let cert_pem = read("--cert", &self.cert)?;
        let key_pem = read("--key", &self.key)?;
        let identity =
            PeerIdentity::from_pem(&cert_pem).map_err(|e| bad("--cert", e.to_string()))?;
        if identity.role != Role::Agent {
            return Err(bad(
                "--cert",
                format!("{identity} is not an agent certificate"),
            ));
        }
        if identity.name != self.node_name {
            return Err(bad(
                "--node-name",
                format!(
                    "{:?} differs from the certificate's node {:?}",
                    self.node_name, identity.name
                ),
            ));
        }
        let backend = self
            .wireguard
            .parse::<BackendChoice>()
            .map_err(|e| bad("--wireguard", e.to_string()))?;
        let userspace = self
            .wireguard_userspace
            .parse::<Userspace>()
            .map_err(|e| bad("--wireguard-userspace", e.to_string()))?;
        if self.wg_interface.is_empty() || self.wg_interface.len() > 15 {
            return Err(bad(
                "--wg-interface",
                format!("{:?} must be 1 to 15 characters", self.wg_interface),
            ));
        }
        if self.wg_port == 0 {
            return Err(bad("--wg-port", "must be 1 to 65535"));
        }
        Ok(AgentConfig {
            node: self.node_name,
            cluster: identity.issuer_cluster,
            apiserver,
            ca_pem,
            cert_pem,
            key_pem,
            state_dir: self.state_dir,
            backend,
            userspace,
            interface: self.wg_interface,
            wg_port: self.wg_port,
            endpoint: self
                .underlay_address
                .map(|ip| SocketAddr::new(ip, self.wg_port)),
            keepalive: (self.keepalive > 0).then(|| Duration::from_secs(self.keepalive)),
            metrics_listen: self.metrics_listen,
        })
    }
}
