//! The userspace device's UAPI socket as a liveness probe, and the PID behind it.
//!
//! The PID comes from `SO_PEERCRED` on a connection to the socket: Linux reports the
//! process that called `listen()`. Because the agent starts `wireguard-go` in the
//! foreground (it does not fork), that is the very process serving the device, so a
//! restarted agent knows which process it adopts and can stop it later, by PID, without
//! a PID file that could go stale.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};

/// Where `wireguard-go` (and `wg`) put UAPI sockets. The directory is global, not per
/// network namespace, hence unique interface names per node in e2e runs.
pub const SOCKET_DIR: &str = "/var/run/wireguard";

/// How long a live device may take to answer one `get`.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn socket_path(interface: &str) -> PathBuf {
    Path::new(SOCKET_DIR).join(format!("{interface}.sock"))
}

/// The PID serving `interface`'s UAPI socket, if the socket exists and answers a `get`
/// (a socket file left by a killed process refuses connections).
pub async fn serving_pid(interface: &str) -> Option<u32> {
    let probe = async {
        let mut stream = UnixStream::connect(socket_path(interface)).await.ok()?;
        let pid = stream.peer_cred().ok()?.pid()?;
        stream.write_all(b"get=1\n\n").await.ok()?;
        let mut lines = BufReader::new(stream).lines();
        while let Some(line) = lines.next_line().await.ok()? {
            if line.starts_with("errno=") {
                return (line == "errno=0").then_some(u32::try_from(pid).ok()?);
            }
        }
        None
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .ok()
        .flatten()
}

/// Whether a process accepts connections on `interface`'s socket.
pub async fn accepts(interface: &str) -> bool {
    UnixStream::connect(socket_path(interface)).await.is_ok()
}

/// Whether `pid` is still a running process (a zombie waiting to be reaped counts as
/// gone: it serves nothing).
pub fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}
