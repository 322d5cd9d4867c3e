//! The capabilities the agent needs, checked before it touches anything, so that a
//! missing one is named instead of surfacing as a confusing netlink or device error.

use std::path::{Path, PathBuf};

use crate::wireguard::BackendChoice;

/// `CAP_NET_ADMIN` in the capability bit sets of `/proc/<pid>/status`.
const CAP_NET_ADMIN: u32 = 12;
const TUN_DEVICE: &str = "/dev/net/tun";
const KERNEL_WIREGUARD: &str = "/sys/module/wireguard";

#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(
        "missing capability CAP_NET_ADMIN (effective set {effective:#x}): the agent programs \
         routes, nftables and WireGuard; run it as root or grant CAP_NET_ADMIN"
    )]
    NotPrivileged { effective: u64 },
    #[error("cannot read the process capabilities from {path}: {reason}")]
    Capabilities { path: PathBuf, reason: String },
    #[error(
        "no TUN device at {path} ({reason}): the userspace WireGuard device needs it; load \
         the tun module (modprobe tun) or, in a container, pass {path} through"
    )]
    NoTun { path: PathBuf, reason: String },
}

/// Checks privileges and, when the device will be userspace, `/dev/net/tun`.
pub fn check(backend: BackendChoice) -> Result<(), PreflightError> {
    let path = Path::new("/proc/self/status");
    let status = std::fs::read_to_string(path).map_err(|e| PreflightError::Capabilities {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let effective =
        effective_capabilities(&status).ok_or_else(|| PreflightError::Capabilities {
            path: path.to_owned(),
            reason: "no CapEff line".into(),
        })?;
    if effective & (1 << CAP_NET_ADMIN) == 0 {
        return Err(PreflightError::NotPrivileged { effective });
    }
    let userspace = match backend {
        BackendChoice::Userspace => true,
        BackendChoice::Kernel => false,
        BackendChoice::Auto => !Path::new(KERNEL_WIREGUARD).exists(),
    };
    if userspace {
        check_tun(Path::new(TUN_DEVICE))?;
    }
    Ok(())
}

/// Opening it read-write is what the device process will do.
pub fn check_tun(path: &Path) -> Result<(), PreflightError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(drop)
        .map_err(|e| PreflightError::NoTun {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// The `CapEff:` hex mask of a `/proc/<pid>/status` text.
fn effective_capabilities(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

#[cfg(test)]
mod tests;
