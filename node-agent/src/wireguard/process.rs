//! The userspace device's own process: started, adopted, stopped.
//!
//! It is `wireguard-go` (or `boringtun-cli`) in the *foreground* (`-f`), in a process
//! group of its own, with
//! output to a log file or `/dev/null` (never a pipe: once the agent is gone a write to
//! it would kill the device with SIGPIPE). We prefer this to letting it daemonize because
//! the process serving the UAPI socket is then the very one we spawned, so `SO_PEERCRED`
//! names it (see [`uapi`](super::uapi)); its own process group keeps a terminal's Ctrl-C
//! to the agent away from it. It is never killed when the agent exits: a later agent
//! finds its socket answering and adopts it.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tokio::{process::Command, time::Instant};
use tracing::{info, warn};

use super::{DeviceConfig, DeviceProcess, WireGuardError, link, uapi};

/// Removes `interface` (for `node-agent cleanup`, which starts no device): deletes the
/// link, which makes `wireguard-go` shut down and remove its socket, then waits up to
/// `timeout` for the process serving the socket to exit, and only then sends it
/// SIGTERM, by the PID `SO_PEERCRED` gave. No other process is ever signalled.
pub async fn cleanup(interface: &str, timeout: Duration) -> Result<(), WireGuardError> {
    let pid = uapi::serving_pid(interface).await;
    link::delete(interface).await?;
    if let Some(pid) = pid
        && !wait_gone(pid, timeout).await
    {
        warn!(
            interface,
            pid, "device process still runs after its link went; SIGTERM"
        );
        // By PID, via kill(1): the crate forbids the unsafe a direct kill(2) needs.
        let _ = Command::new("kill").arg(pid.to_string()).status().await;
        if !wait_gone(pid, timeout).await {
            let interface = interface.to_owned();
            return Err(WireGuardError::StopTimeout {
                pid,
                interface,
                timeout,
            });
        }
    }
    // A socket left by a killed process would otherwise only be cleaned at next start.
    if uapi::serving_pid(interface).await.is_none() {
        let _ = std::fs::remove_file(uapi::socket_path(interface));
    }
    Ok(())
}

async fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while uapi::process_alive(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Adopts the device process serving the socket, or starts one and waits until it
/// answers.
pub(super) async fn ensure_process(config: &DeviceConfig) -> Result<DeviceProcess, WireGuardError> {
    let name = config.interface.as_str();
    if let Some(pid) = uapi::serving_pid(name).await {
        info!(interface = %name, pid, "adopting the running WireGuard device");
        return Ok(DeviceProcess { pid, adopted: true });
    }
    let program = PathBuf::from(config.userspace.program());
    let spawn_error = |source| WireGuardError::Spawn {
        program: program.clone(),
        interface: name.to_owned(),
        source,
    };
    let (stdout, stderr) = match &config.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| WireGuardError::Io {
                    path: path.clone(),
                    source,
                })?;
            let copy = file.try_clone().map_err(spawn_error)?;
            (Stdio::from(file), Stdio::from(copy))
        }
        None => (Stdio::null(), Stdio::null()),
    };
    let mut child = Command::new(&program)
        .args(config.userspace.args())
        .arg(name)
        .env_remove("WG_TUN_FD")
        .env_remove("WG_UAPI_FD")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .kill_on_drop(false)
        .spawn()
        .map_err(spawn_error)?;
    let deadline = Instant::now() + config.start_timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(WireGuardError::DeviceExited {
                program,
                interface: name.to_owned(),
                status,
            });
        }
        if let Some(serving) = uapi::serving_pid(name).await {
            info!(interface = %name, pid = serving, "started the WireGuard device process");
            // Dropping `child` leaves the process running; tokio reaps it if it exits.
            return Ok(DeviceProcess {
                pid: serving,
                adopted: false,
            });
        }
        if Instant::now() >= deadline {
            // Ours and not serving: stop it rather than leave a half-started device.
            let _ = child.kill().await;
            return Err(WireGuardError::StartTimeout {
                path: uapi::socket_path(name),
                timeout: config.start_timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
