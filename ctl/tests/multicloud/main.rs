//! The multicloud example as an end-to-end suite, on the real binaries, as root.
//!
//! Each test brings `examples/multicloud/demo.sh up` (three clouds, aws=1, gcp=2,
//! onprem=3, two nodes each, in network namespaces) under a prefix and state dir of its
//! own, drives it through the script's subcommands and `ctl`, and always runs `demo.sh
//! down` when it ends (after dumping the logs, `ctl status`, and each node's WireGuard,
//! nftables and routes if it failed). `CLUSTERMESH_KEEP=1` keeps everything up.
//!
//! The binaries are the ones just built: `ctl` is this package's test binary's
//! neighbour, `clustermesh-apiserver` and `node-agent` must be next to it (`cargo test
//! --workspace` builds them). A test that cannot run its real components (not root, a
//! binary missing) fails; none is skipped.
//!
//! The tests take turns (one demo at a time, see `demo.rs`); the whole suite takes about
//! a minute and a half.
//!
//! | test | asserts |
//! |---|---|
//! | `tour::…` | connect, `ctl status` and `ctl services` JSON, the VIP from every cloud |
//! | `affinity::…` | `clustermesh.io/affinity` local / remote / none, and local's fallback |
//! | `node_kill::…` | a killed node's backend is out of load balancing within TTL + 1 s |
//! | `apiserver_restart::…` | SIGTERM and SIGKILL restarts lose no request |
//! | `connect_refusal::…` | duplicate cluster id, overlapping pod CIDRs: exit 1, docs/cli.md messages |
//! | `drill::…` | `ctl drill failover`: backends and cluster faults recover within their bounds and fail back |

mod cmd;
mod conntrack;
mod demo;
mod extra_cluster;
mod json;
mod manifests;
mod preflight;
mod prober;
mod vip;
mod wait;

mod affinity;
mod apiserver_restart;
mod connect_refusal;
mod drill;
mod node_kill;
mod tour;
