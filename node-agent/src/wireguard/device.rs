//! Starting (or adopting) and configuring the WireGuard device: the kernel's where it
//! has WireGuard, else a userspace implementation's process of its own (`wireguard-go`
//! or `boringtun-cli`, see [`process`](super::process)).

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use tokio::task::spawn_blocking;
use tracing::info;
use wireguard_control::{Backend, Device, DeviceUpdate, InterfaceName};

use super::{
    NodeKeys, WireGuardError, WireGuardTunnels, link,
    process::{cleanup, ensure_process},
    uapi,
};

/// `--wireguard`: `wireguard-go` is the same as `userspace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The kernel if it supports WireGuard, else userspace.
    #[default]
    Auto,
    Kernel,
    Userspace,
}

impl FromStr for BackendChoice {
    type Err = WireGuardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "kernel" => Ok(Self::Kernel),
            "userspace" | "wireguard-go" => Ok(Self::Userspace),
            _ => Err(WireGuardError::UnknownBackend(s.to_owned())),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Kernel => "kernel",
            Self::Userspace => "userspace",
        })
    }
}

/// `--wireguard-userspace`: which userspace implementation runs the device when it is
/// not the kernel's. Both serve the same UAPI socket, so everything after the start is
/// the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Userspace {
    #[default]
    WireguardGo,
    Boringtun,
}

impl Userspace {
    /// The program, looked up on `PATH`.
    pub fn program(self) -> &'static str {
        match self {
            Self::WireguardGo => "wireguard-go",
            Self::Boringtun => "boringtun-cli",
        }
    }

    /// Its arguments before the interface name: in the foreground, so that the process
    /// serving the socket is the one spawned. boringtun-cli would otherwise drop to the
    /// user that ran `sudo`, and fail where there is none (an agent runs as root).
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Self::WireguardGo => &["-f"],
            Self::Boringtun => &["-f", "--disable-drop-privileges"],
        }
    }
}

impl FromStr for Userspace {
    type Err = WireGuardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wireguard-go" => Ok(Self::WireguardGo),
            "boringtun" | "boringtun-cli" => Ok(Self::Boringtun),
            _ => Err(WireGuardError::UnknownUserspace(s.to_owned())),
        }
    }
}

impl fmt::Display for Userspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WireguardGo => "wireguard-go",
            Self::Boringtun => "boringtun",
        })
    }
}

#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub interface: String,
    pub backend: BackendChoice,
    pub listen_port: u16,
    /// The userspace implementation to run.
    pub userspace: Userspace,
    /// Where the device process's output goes (appended); `None` discards it.
    pub log_file: Option<PathBuf>,
    /// How long a new device process may take to answer on its UAPI socket.
    pub start_timeout: Duration,
}

impl DeviceConfig {
    pub fn new(interface: impl Into<String>, listen_port: u16) -> Self {
        Self {
            interface: interface.into(),
            backend: BackendChoice::Auto,
            listen_port,
            userspace: Userspace::default(),
            log_file: None,
            start_timeout: Duration::from_secs(5),
        }
    }
}

/// The userspace device's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceProcess {
    pub pid: u32,
    /// It was already running (started by an earlier agent) and we took it over.
    pub adopted: bool,
}

/// A configured, up WireGuard device.
#[derive(Debug)]
pub struct WgDevice {
    interface: InterfaceName,
    backend: Backend,
    process: Option<DeviceProcess>,
}

impl WgDevice {
    /// Brings the device up with our key and port, reusing one that already runs. Its
    /// peers are left as they are: the agent reconciles them by diff, never by flushing.
    pub async fn start(config: &DeviceConfig, keys: &NodeKeys) -> Result<Self, WireGuardError> {
        let interface = parse_interface(&config.interface)?;
        let name = config.interface.as_str();
        std::fs::create_dir_all(uapi::SOCKET_DIR).map_err(|source| WireGuardError::Io {
            path: uapi::SOCKET_DIR.into(),
            source,
        })?;
        let userspace = match config.backend {
            BackendChoice::Kernel => false,
            BackendChoice::Userspace => true,
            // An adoptable userspace device wins over creating a kernel one beside it.
            BackendChoice::Auto if uapi::serving_pid(name).await.is_some() => true,
            BackendChoice::Auto => {
                match configure(interface, Backend::Kernel, config, keys).await {
                    Ok(()) => false,
                    Err(e) => {
                        info!(interface = %name, error = %e, "no kernel WireGuard, using userspace");
                        true
                    }
                }
            }
        };
        let (backend, process) = if userspace {
            let process = ensure_process(config).await?;
            (Backend::Userspace, Some(process))
        } else {
            (Backend::Kernel, None)
        };
        if userspace || config.backend == BackendChoice::Kernel {
            configure(interface, backend, config, keys).await?;
        }
        link::set_up(name).await?;
        info!(interface = %name, %backend, ?process, "WireGuard device ready");
        Ok(Self {
            interface,
            backend,
            process,
        })
    }

    pub fn interface(&self) -> String {
        self.interface.to_string()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn process(&self) -> Option<DeviceProcess> {
        self.process
    }

    /// The executor for this device's peers.
    pub fn tunnels(&self) -> WireGuardTunnels {
        WireGuardTunnels::new(self.interface, self.backend)
    }

    /// Removes the interface and stops its process: see [`cleanup`].
    pub async fn cleanup(self, timeout: Duration) -> Result<(), WireGuardError> {
        cleanup(&self.interface.to_string(), timeout).await
    }
}

fn parse_interface(name: &str) -> Result<InterfaceName, WireGuardError> {
    let invalid = |reason: String| WireGuardError::InterfaceName {
        name: name.to_owned(),
        reason,
    };
    // The socket path is built from the name: keep it a plain file name.
    if name.is_empty() || name.contains('/') || name.len() > 15 {
        return Err(invalid("must be 1 to 15 characters without '/'".into()));
    }
    name.parse().map_err(|e| invalid(format!("{e}")))
}

/// Sets our private key and listen port where they differ; peers are untouched. An
/// adopted device already has both, and must not be told again: wireguard-go rebinds
/// its UDP socket on every `listen_port` it is given, dropping packets in flight.
async fn configure(
    interface: InterfaceName,
    backend: Backend,
    config: &DeviceConfig,
    keys: &NodeKeys,
) -> Result<(), WireGuardError> {
    // Unreadable (e.g. no kernel device yet) means everything is to be set.
    let current = spawn_blocking(move || Device::get(&interface, backend))
        .await
        .ok()
        .and_then(Result::ok);
    let mut update = DeviceUpdate::new();
    let mut changes = 0;
    if current.as_ref().and_then(|d| d.private_key.as_ref()) != Some(keys.private()) {
        update = update.set_private_key(keys.private().clone());
        changes += 1;
    }
    if current.as_ref().and_then(|d| d.listen_port) != Some(config.listen_port) {
        update = update.set_listen_port(config.listen_port);
        changes += 1;
    }
    if changes == 0 {
        return Ok(());
    }
    let result = spawn_blocking(move || update.apply(&interface, backend))
        .await
        .map_err(std::io::Error::other)
        .and_then(|r| r);
    result.map_err(|source| match backend {
        Backend::Kernel => WireGuardError::KernelUnsupported {
            interface: config.interface.clone(),
            source,
        },
        Backend::Userspace => WireGuardError::Device {
            what: "configuring key and port",
            interface: config.interface.clone(),
            source,
        },
    })
}
