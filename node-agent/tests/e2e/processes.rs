//! Long-lived processes started inside a namespace, with their output in a log file.
//! A guard stops its process by PID (SIGTERM, then SIGKILL) and reaps it on drop.

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

pub struct Spawned {
    pub what: String,
    pub log: PathBuf,
    child: Option<Child>,
}

impl Spawned {
    /// Starts `args` inside `ns` (`ip netns exec` execs it, so the PID is the program's),
    /// with stdout and stderr in `log`.
    pub fn start(what: &str, ns: &str, args: &[&str], envs: &[(&str, &str)], log: &Path) -> Self {
        let out = File::create(log).expect("create the process's log file");
        let err = out.try_clone().expect("clone the log file handle");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start {args:?}: {e}"));
        Self {
            what: what.to_owned(),
            log: log.to_owned(),
            child: Some(child),
        }
    }

    /// Panics (with the log) if the process has exited.
    pub fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("not stopped yet");
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "{} exited early ({status}):\n{}",
                self.what,
                self.log_text()
            );
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_else(|e| format!("<unreadable: {e}>"))
    }

    /// SIGKILL by PID, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal("-KILL", child.id());
            let _ = child.wait();
        }
    }

    /// Waits up to `within` for the process to exit by itself; SIGKILL after it.
    pub fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let child = self.child.as_mut()?;
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`): the process holds its state but uses no CPU.
    pub fn pause(&self, paused: bool) {
        if let Some(child) = &self.child {
            signal(if paused { "-STOP" } else { "-CONT" }, child.id());
        }
    }

    /// SIGTERM by PID, then waits up to `grace` (SIGKILL after it). `None` if it had to
    /// be killed.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        signal("-TERM", child.id());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal("-KILL", child.id());
        let _ = child.wait();
        None
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.child.is_some() && super::keep() {
            eprintln!("CLUSTERMESH_KEEP: leaving {} running", self.what);
            return;
        }
        self.stop(Duration::from_secs(5));
    }
}

/// Our own child, by its PID.
fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

/// PIDs of `wireguard-go` processes serving `interface`, found in /proc.
pub fn wireguard_go_pids(interface: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.first().is_some_and(|a| a.ends_with(b"wireguard-go"))
                && args.contains(&interface.as_bytes())
        })
        .collect()
}
