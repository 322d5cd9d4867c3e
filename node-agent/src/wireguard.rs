//! The WireGuard side of the agent: the node's key pair ([`keys`]), the device itself
//! ([`device`]) and the [`Tunnels`](crate::exec::Tunnels) executor that programs its
//! peers ([`tunnels`]).
//!
//! Where the kernel has no WireGuard module the device is `wireguard-go` (or
//! `boringtun-cli`, `--wireguard-userspace`), run as its own long-lived process: it
//! outlives an agent restart, and the restarted agent adopts it through its UAPI socket
//! instead of starting another (which would drop every session).

pub mod device;
pub mod keys;
mod link;
mod process;
pub mod tunnels;
mod uapi;

use std::{io, path::PathBuf, time::Duration};

pub use device::{BackendChoice, DeviceConfig, DeviceProcess, Userspace, WgDevice};
pub use keys::NodeKeys;
pub use link::TUNNEL_MTU;
pub use process::cleanup;
pub use tunnels::WireGuardTunnels;

/// Why the key pair or the device could not be set up or removed.
#[derive(Debug, thiserror::Error)]
pub enum WireGuardError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Same rule as ssh: a private key anyone else can read is no longer private.
    #[error(
        "permissions {mode:04o} for '{path}' are too open: the WireGuard private key must not \
         be accessible by group or others (chmod 600 it, or remove it to generate a new one)"
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("'{path}' does not hold a base64 WireGuard private key")]
    InvalidKey { path: PathBuf },
    #[error("invalid WireGuard interface name {name:?}: {reason}")]
    InterfaceName { name: String, reason: String },
    #[error("unknown WireGuard backend {0:?}: expected auto, kernel, userspace or wireguard-go")]
    UnknownBackend(String),
    #[error("unknown userspace WireGuard {0:?}: expected wireguard-go or boringtun")]
    UnknownUserspace(String),
    #[error(
        "kernel WireGuard backend unavailable for {interface} (no WireGuard support in this \
         kernel?): {source}; use --wireguard userspace"
    )]
    KernelUnsupported {
        interface: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot start {program} for {interface}: {source}")]
    Spawn {
        program: PathBuf,
        interface: String,
        #[source]
        source: io::Error,
    },
    #[error("{program} for {interface} exited ({status}) before its UAPI socket appeared")]
    DeviceExited {
        program: PathBuf,
        interface: String,
        status: std::process::ExitStatus,
    },
    #[error("UAPI socket {path} did not answer within {timeout:?}")]
    StartTimeout { path: PathBuf, timeout: Duration },
    #[error("{what} on WireGuard interface {interface}: {source}")]
    Device {
        what: &'static str,
        interface: String,
        #[source]
        source: io::Error,
    },
    #[error("netlink: {what} {interface}: {reason}")]
    Netlink {
        what: &'static str,
        interface: String,
        reason: String,
    },
    #[error("device process {pid} of {interface} still runs {timeout:?} after stopping it")]
    StopTimeout {
        pid: u32,
        interface: String,
        timeout: Duration,
    },
}

#[cfg(test)]
mod tests;
