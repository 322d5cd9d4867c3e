//! Running the `nft` binary. Failures name what is missing: the binary (package
//! `nftables`) or the permission (CAP_NET_ADMIN).

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::{io::AsyncWriteExt, process::Command};

use crate::exec::ExecError;

/// How long one `nft` run may take. It normally takes milliseconds; a hung one must not
/// stall the agent's loop forever.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What `nft` prints when the object named does not exist.
const NOT_FOUND: &str = "No such file or directory";

#[derive(Debug, Clone)]
pub(crate) struct Nft {
    pub binary: PathBuf,
}

/// A run that exited unsuccessfully, told apart from one that could not run at all.
pub(crate) enum Failure {
    /// The named table (or object) does not exist.
    NotFound,
    Exec(ExecError),
}

impl From<Failure> for ExecError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::NotFound => ExecError::new("nft", NOT_FOUND),
            Failure::Exec(e) => e,
        }
    }
}

impl Nft {
    /// Runs `nft <args>`, feeding `stdin` if given; returns its stdout.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, Failure> {
        let what = format!("{} {}", self.binary.display(), args.join(" "));
        let mut child = Command::new(&self.binary)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Dropped on timeout: the run is abandoned, so is the process.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Failure::Exec(spawn_error(&what, &self.binary, &e)))?;
        let input = child.stdin.take();
        let feed = async {
            if let (Some(mut pipe), Some(text)) = (input, stdin) {
                // A write error shows up as nft's own failure below.
                let _ = pipe.write_all(text.as_bytes()).await;
            }
        };
        // Fed concurrently, so a chatty nft can never block on a full stdout pipe.
        let run = async { tokio::join!(feed, child.wait_with_output()).1 };
        let output = tokio::time::timeout(TIMEOUT, run)
            .await
            .map_err(|_| {
                Failure::Exec(ExecError::new(
                    &what,
                    format!("timed out after {TIMEOUT:?}"),
                ))
            })?
            .map_err(|e| Failure::Exec(ExecError::new(&what, e)))?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if stderr.contains("Operation not permitted") {
            return Err(Failure::Exec(ExecError::new(
                what,
                format!("nft needs CAP_NET_ADMIN (run the agent as root): {stderr}"),
            )));
        }
        if stderr.contains(NOT_FOUND) && stdin.is_none() {
            return Err(Failure::NotFound);
        }
        Err(Failure::Exec(ExecError::new(
            what,
            format!("{}: {stderr}", output.status),
        )))
    }
}

fn spawn_error(what: &str, binary: &Path, e: &std::io::Error) -> ExecError {
    let reason = match e.kind() {
        ErrorKind::NotFound => format!(
            "the `{}` binary was not found (install the `nftables` package): {e}",
            binary.display()
        ),
        ErrorKind::PermissionDenied => {
            format!("the `{}` binary cannot be executed: {e}", binary.display())
        }
        _ => e.to_string(),
    };
    ExecError::new(what, reason)
}
