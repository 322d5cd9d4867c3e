//! A throwaway single-member etcd on loopback, for the etcd backend's tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use etcd_client::{Client, GetOptions};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::store::etcd::EtcdStoreConfig;

/// How long etcd gets to serve its first request.
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// Between readiness probes: short, since each probe also has its own timeout.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Starts with fresh ports after etcd lost a race for the ones it was given.
const START_ATTEMPTS: usize = 3;
/// How much of etcd's log an error quotes.
const STDERR_TAIL_BYTES: usize = 4096;

/// Large enough for any batch the suite or the apiserver sends (our default is 128).
const MAX_TXN_OPS: &str = "10000";
/// Room for 1 MiB values in batches; etcd's default (1.5 MiB) fits one value only.
const MAX_REQUEST_BYTES: &str = "10485760";
/// 4 GiB: the 100k-key and 1 MiB-value cases stay far from the space alarm.
const QUOTA_BACKEND_BYTES: &str = "4294967296";

/// A running etcd, killed (by its own child handle) and its data removed on drop.
pub struct EtcdProcess {
    child: Child,
    client_url: String,
    log: PathBuf,
    // Declared last so the directory outlives the process that writes into it.
    dir: TempDir,
}

enum StartError {
    /// etcd exited at once, typically because another process took a port first.
    Exited(String),
    Fatal(String),
}

impl EtcdProcess {
    /// Starts etcd on two free loopback ports and waits until it serves.
    pub async fn start() -> Result<EtcdProcess, String> {
        let binary = find_etcd()?;
        let mut last = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match start_once(&binary).await {
                Ok(process) => return Ok(process),
                Err(StartError::Fatal(err)) => return Err(err),
                Err(StartError::Exited(err)) => {
                    tracing::debug!(attempt, %err, "etcd exited during start; retrying with new ports");
                    last = err;
                }
            }
        }
        Err(format!(
            "etcd failed to start {START_ATTEMPTS} times; last: {last}"
        ))
    }

    /// `http://127.0.0.1:PORT`.
    pub fn client_url(&self) -> &str {
        &self.client_url
    }

    /// A backend config pointing at this etcd, with every other setting at its default.
    pub fn store_config(&self) -> EtcdStoreConfig {
        EtcdStoreConfig {
            endpoints: vec![self.client_url.clone()],
            ..EtcdStoreConfig::default()
        }
    }

    /// The last few KiB etcd wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        read_tail(&self.log)
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills etcd and waits until it is gone, e.g. to test an unreachable cluster.
    pub async fn kill(&mut self) -> Result<(), String> {
        self.child
            .kill()
            .await
            .map_err(|err| format!("killing etcd: {err}"))
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        if let Err(err) = self.child.start_kill() {
            tracing::debug!(%err, "etcd already exited");
        }
        // Reap it before the data directory goes, so etcd writes nothing after removal.
        // SIGKILL takes effect within milliseconds; the bound only guards a wedged kernel.
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn find_etcd() -> Result<PathBuf, String> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("etcd"));
    on_path
        .chain([PathBuf::from("/usr/bin/etcd")])
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| r#"etcd not found: run "make deps" (Debian package etcd-server)"#.to_owned())
}

/// Two distinct free ports. Both listeners are held until both ports are known, so the
/// kernel cannot hand out the same one twice; another process may still take one
/// before etcd binds it, which `start` answers with a retry.
fn free_ports() -> Result<(u16, u16), String> {
    let bind =
        || TcpListener::bind("127.0.0.1:0").map_err(|err| format!("bind 127.0.0.1:0: {err}"));
    let (a, b) = (bind()?, bind()?);
    let port = |l: &TcpListener| {
        l.local_addr()
            .map(|addr| addr.port())
            .map_err(|err| format!("local_addr: {err}"))
    };
    Ok((port(&a)?, port(&b)?))
}

async fn start_once(binary: &Path) -> Result<EtcdProcess, StartError> {
    let fatal = StartError::Fatal;
    let (client_port, peer_port) = free_ports().map_err(fatal)?;
    let dir = tempfile::Builder::new()
        .prefix("clustermesh-etcd-")
        .tempdir()
        .map_err(|err| fatal(format!("temp dir: {err}")))?;
    let log = dir.path().join("etcd.log");
    let stderr = std::fs::File::create(&log).map_err(|err| fatal(format!("log file: {err}")))?;
    let client_url = format!("http://127.0.0.1:{client_port}");
    let peer_url = format!("http://127.0.0.1:{peer_port}");
    let child = Command::new(binary)
        .arg("--name=default")
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=default={peer_url}"))
        .arg(format!("--max-txn-ops={MAX_TXN_OPS}"))
        .arg(format!("--max-request-bytes={MAX_REQUEST_BYTES}"))
        .arg(format!("--quota-backend-bytes={QUOTA_BACKEND_BYTES}"))
        .args(["--logger=zap", "--log-outputs=stderr", "--log-level=error"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| fatal(format!("spawning {}: {err}", binary.display())))?;
    let mut process = EtcdProcess {
        child,
        client_url,
        log,
        dir,
    };
    wait_until_serving(&mut process).await?;
    Ok(process)
}

/// Polls a real read until it succeeds, etcd exits, or the deadline passes.
async fn wait_until_serving(process: &mut EtcdProcess) -> Result<(), StartError> {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        if let Ok(Some(status)) = process.child.try_wait() {
            return Err(StartError::Exited(format!(
                "etcd exited with {status}; stderr: {}",
                process.stderr_tail()
            )));
        }
        let last_error = match probe(&process.client_url).await {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        if Instant::now() >= deadline {
            return Err(StartError::Fatal(format!(
                "etcd at {} not serving within {READY_DEADLINE:?} ({last_error}); stderr: {}",
                process.client_url,
                process.stderr_tail()
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

async fn probe(url: &str) -> Result<(), String> {
    let attempt = async {
        let mut client = Client::connect([url], None).await?;
        client
            .get("probe", Some(GetOptions::new().with_count_only()))
            .await
            .map(|_| ())
    };
    match tokio::time::timeout(Duration::from_secs(1), attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("probe timed out".into()),
    }
}

fn read_tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(STDERR_TAIL_BYTES);
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(err) => format!("<cannot read {}: {err}>", path.display()),
    }
}
