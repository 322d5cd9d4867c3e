//! Real netlink, inside a fresh network namespace per test (as root; never skipped).
//! A veth pair stands in for the WireGuard interface: routes only need a link.

use std::{collections::BTreeSet, future::Future, process::Command};

mod errors;
mod lifecycle;
mod ownership;

use clustermesh_proto::Cidr;

use super::NetlinkRoutes;
use crate::netns_testing::in_netns;

pub(super) const WG: &str = "cmt-wg0";

/// Runs `body` against a [`NetlinkRoutes`] on `cmt-wg0` inside a namespace holding the
/// veth pair `cmt-wg0`/`cmt-wg1` (both up) and whatever `setup` adds. `module` is the
/// caller's `module_path!()`, so the test's harness path follows the file it lives in.
pub(super) fn netns_test<F, Fut>(module: &str, test: &str, setup: &[&[&str]], body: F)
where
    F: FnOnce(NetlinkRoutes) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    in_netns(
        &harness_path(module, test),
        |ns| {
            ns.exec(&[
                "ip", "link", "add", WG, "type", "veth", "peer", "name", "cmt-wg1",
            ]);
            ns.exec(&["ip", "link", "set", WG, "up"]);
            ns.exec(&["ip", "link", "set", "cmt-wg1", "up"]);
            for command in setup {
                ns.exec(command);
            }
        },
        || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime
                .block_on(async {
                    let routes = NetlinkRoutes::new(WG)?;
                    body(routes).await
                })
                .expect("test body");
        },
    );
}

pub(super) fn cidr(s: &str) -> Cidr {
    s.parse().expect("a valid CIDR")
}

pub(super) fn set(items: &[&str]) -> BTreeSet<Cidr> {
    items.iter().map(|s| cidr(s)).collect()
}

/// `ip <args>` output, to check the kernel state independently of the executor.
pub(super) fn ip(args: &[&str]) -> String {
    let output = Command::new("ip").args(args).output().expect("runs ip");
    assert!(output.status.success(), "ip {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every IPv4 and IPv6 route of the main table, one per line.
pub(super) fn all_routes() -> String {
    ip(&["-4", "route", "show"]) + &ip(&["-6", "route", "show"])
}

/// The name the test harness knows a test by: its module path without the crate.
pub(super) fn harness_path(module: &str, test: &str) -> String {
    let module = module.split_once("::").map_or(module, |(_, rest)| rest);
    format!("{module}::{test}")
}
