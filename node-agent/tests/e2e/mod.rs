//! Helpers for the two-cluster end-to-end test: namespaces and veths, spawned processes
//! that are killed by PID and reaped on drop, the apiservers and their manifests.
#![allow(dead_code)] // Shared by e2e test binaries that each use a part.

pub mod agents;
pub mod clusters;
pub mod connect;
pub mod manifests;
pub mod prober;
pub mod processes;
pub mod topology;
pub mod underlay;

use std::time::{Duration, Instant};

/// Polls `check` every `every` until it holds, panicking after `within`.
pub fn wait_until(within: Duration, every: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what}: not true within {within:?}"
        );
        std::thread::sleep(every);
    }
}

/// Whether `CLUSTERMESH_KEEP` asks to keep namespaces and processes for debugging.
pub fn keep() -> bool {
    std::env::var_os("CLUSTERMESH_KEEP").is_some()
}
