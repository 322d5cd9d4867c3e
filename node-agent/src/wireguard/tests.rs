//! Real devices, each inside a network namespace of its own (as root, with
//! `wireguard-go` installed; otherwise these tests fail, never skip).
//!
//! UAPI sockets live in `/var/run/wireguard` whatever the namespace, so interface names
//! carry the PID of the test process inside the namespace. Deleting a namespace does not
//! stop a `wireguard-go` running in it (the process keeps the namespace alive), so every
//! device process a test starts is held by a [`KillOnDrop`] guard, by PID.

mod device;
mod handshake;

use std::{future::Future, process::Command, time::Duration};

use super::uapi;

fn interface(tag: &str) -> String {
    format!("cmwg{}{tag}", std::process::id() % 10000)
}

fn run<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(body);
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stops a device process this test started, by PID, even when the test panics, and
/// removes its socket if it could not.
struct KillOnDrop {
    pid: u32,
    interface: String,
    /// When the test spawned it itself: reaped here, so no zombie outlives the test.
    child: Option<std::process::Child>,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if uapi::process_alive(self.pid) {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status();
            for _ in 0..100 {
                if !uapi::process_alive(self.pid) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if let Some(child) = &mut self.child {
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(uapi::socket_path(&self.interface));
    }
}

/// Waits with a deadline until `interface`'s socket answers; returns the serving PID.
async fn wait_serving(interface: &str) -> u32 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = uapi::serving_pid(interface).await {
            return pid;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{interface}: UAPI socket never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
