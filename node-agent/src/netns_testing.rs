//! Tests that need a network namespace of their own, as root, without `unsafe`: the test
//! re-runs its own binary under `ip netns exec`, filtered to itself, and the copy inside
//! the namespace runs the body. Namespaces get unique names and are removed on drop
//! (kept with `CLUSTERMESH_KEEP=1`, for debugging). Nothing here touches the host's own
//! interfaces, routes or firewall.

use std::{
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// Set in the copy that runs inside the namespace, to the test's name.
const CHILD_ENV: &str = "CLUSTERMESH_NETNS_CHILD";

/// A network namespace this test created.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A new namespace named `cmt-<tag>-<pid>-<n>`, with loopback up. Fails loudly when
    /// not root: these tests never skip silently.
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("cmt-{tag}-{}-{n}", std::process::id());
        assert!(name.len() <= 64, "namespace name too long: {name}");
        run(&["ip", "netns", "add", &name]);
        let ns = Self { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// Runs `args` inside the namespace and asserts it succeeded.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", self.name.as_str()];
        full.extend_from_slice(args);
        run(&full)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if std::env::var_os("CLUSTERMESH_KEEP").is_some() {
            eprintln!("CLUSTERMESH_KEEP: keeping network namespace {}", self.name);
            return;
        }
        // Best effort while unwinding; a leftover namespace is named after this run.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Runs `body` inside a fresh namespace prepared by `setup`. `test` is the test's full
/// path as the harness names it (e.g. `routes::tests::adds_and_removes`).
pub fn in_netns(test: &str, setup: impl FnOnce(&Netns), body: impl FnOnce()) {
    let harness_args = ["--exact", test, "--nocapture", "--test-threads=1"];
    let Some(child) = run_child(test, &harness_args, setup, body) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&child.output.stdout);
    let stderr = String::from_utf8_lossy(&child.output.stderr);
    assert!(
        child.output.status.success() && stdout.contains("1 passed"),
        "{test} failed inside {}:\n{stdout}\n{stderr}",
        child.namespace
    );
}

/// [`in_netns`] for a program without the test harness (a benchmark): the copy inside
/// the namespace runs `body` with inherited output; returns whether it succeeded.
pub fn in_netns_program(name: &str, setup: impl FnOnce(&Netns), body: impl FnOnce()) -> bool {
    match run_child(name, &[], setup, body) {
        Some(child) => child.output.status.success(),
        None => true,
    }
}

struct Child {
    namespace: String,
    output: Output,
}

/// In the parent: sets up a namespace and re-runs this binary inside it with `args`.
/// In that copy: runs `body` and returns `None`.
fn run_child(
    name: &str,
    args: &[&str],
    setup: impl FnOnce(&Netns),
    body: impl FnOnce(),
) -> Option<Child> {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        return None;
    }
    assert!(
        is_root(),
        "{name} needs root to create network namespaces; run it as root"
    );
    let ns = Netns::new("na");
    setup(&ns);
    let exe = std::env::current_exe().expect("own binary");
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", &ns.name])
        .arg(exe)
        .args(args)
        .env(CHILD_ENV, name);
    // A program shows its own output as it goes; a test's is kept for the failure.
    let output = if args.is_empty() {
        let status = command.status().expect("runs inside the namespace");
        Output {
            status,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    } else {
        command
            .output()
            .expect("runs the test inside the namespace")
    };
    Some(Child {
        namespace: ns.name.clone(),
        output,
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Runs `args` and asserts it succeeded, with its stderr in the failure.
pub fn run(args: &[&str]) -> Output {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_runs_inside_its_own_namespace() {
        in_netns(
            "netns_testing::tests::the_body_runs_inside_its_own_namespace",
            |ns| {
                ns.exec(&[
                    "ip", "link", "add", "cmt-v0", "type", "veth", "peer", "name", "cmt-v1",
                ]);
            },
            || {
                // Only the namespace has the veth pair; the host never sees it.
                let links = run(&["ip", "-o", "link", "show"]);
                assert!(String::from_utf8_lossy(&links.stdout).contains("cmt-v0"));
            },
        );
    }
}
