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

/// Both clusters' apiservers started, ready and connected (a's service with local
/// affinity when `local_a`), with the runtime the Admin calls ran on.
pub fn connected_clusters(
    topo: &topology::Topology,
    dir: &std::path::Path,
    ctl: &std::path::Path,
    local_a: bool,
) -> (
    clusters::Apiserver,
    clusters::Apiserver,
    tokio::runtime::Runtime,
) {
    let (a, b) = (&topo.a, &topo.b);
    let mut api_a = clusters::Apiserver::start(a, dir, ctl, local_a);
    let mut api_b = clusters::Apiserver::start(b, dir, ctl, false);
    api_a.wait_ready(a);
    api_b.wait_ready(b);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(connect::connect(ctl, "a", "b"));
    (api_a, api_b, runtime)
}

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
