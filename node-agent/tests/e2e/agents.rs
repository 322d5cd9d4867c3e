//! The real `node-agent` binary inside a node namespace, `node-agent cleanup`, and the
//! state dump printed when the test fails.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use super::{
    clusters::{Apiserver, path},
    processes::Spawned,
    topology::Cluster,
};

pub const WG_PORT: &str = "51820";

pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_node-agent")
}

/// A running agent; on drop it is stopped and (unless kept) its dataplane cleaned up.
pub struct Agent {
    pub node_ns: String,
    pub interface: String,
    pub process: Spawned,
    cleaned: bool,
}

impl Agent {
    pub fn start(c: &Cluster, api: &Apiserver, dir: &Path, interface: &str) -> Self {
        let cert = |f: &str| path(&api.agent_certs.join(f));
        let apiserver = format!("https://{}:{}", c.underlay_ip(), super::clusters::API_PORT);
        let state = path(&dir.join(format!("{}-state", c.name)));
        let (ca, crt, key, node, ip) = (
            cert("ca.crt"),
            cert("tls.crt"),
            cert("tls.key"),
            c.node_name(),
            c.underlay_ip(),
        );
        let args = [
            agent_bin(),
            "run",
            "--node-name",
            &node,
            "--apiserver",
            &apiserver,
            "--ca",
            &ca,
            "--cert",
            &crt,
            "--key",
            &key,
            "--state-dir",
            &state,
            "--wireguard",
            "userspace",
            "--wg-interface",
            interface,
            "--wg-port",
            WG_PORT,
            "--underlay-address",
            &ip,
        ];
        let log = dir.join(format!("agent-{}.log", c.name));
        let process = Spawned::start(
            &format!("agent {}", c.name),
            &c.node_ns,
            &args,
            &[("RUST_LOG", "info")],
            &log,
        );
        Self {
            node_ns: c.node_ns.clone(),
            interface: interface.to_owned(),
            process,
            cleaned: false,
        }
    }

    /// `node-agent cleanup` inside the node namespace.
    pub fn cleanup(&mut self) -> Output {
        self.cleaned = true;
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.node_ns,
                agent_bin(),
                "cleanup",
                "--wg-interface",
                &self.interface,
            ])
            .output()
            .expect("node-agent cleanup runs")
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if super::keep() || self.cleaned {
            return;
        }
        self.process.stop(Duration::from_secs(5));
        let _ = self.cleanup();
    }
}

/// Prints every log and each node's dataplane when the test panics.
#[derive(Default)]
pub struct Dump {
    pub logs: Vec<(String, PathBuf)>,
    /// (node namespace, WireGuard interface)
    pub nodes: Vec<(String, String)>,
}

impl Drop for Dump {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for (what, log) in &self.logs {
            let text =
                std::fs::read_to_string(log).unwrap_or_else(|e| format!("<unreadable: {e}>"));
            eprintln!("===== {what} ({}) =====\n{text}", log.display());
        }
        for (ns, iface) in &self.nodes {
            for cmd in [
                &["wg", "show", iface.as_str()][..],
                &["nft", "list", "ruleset"],
                &["ip", "route"],
                &["ip", "addr"],
            ] {
                let out = Command::new("ip")
                    .args(["netns", "exec", ns])
                    .args(cmd)
                    .output();
                let text = out.map_or_else(
                    |e| e.to_string(),
                    |o| {
                        format!(
                            "{}{}",
                            String::from_utf8_lossy(&o.stdout),
                            String::from_utf8_lossy(&o.stderr)
                        )
                    },
                );
                eprintln!("===== {ns}: {} =====\n{text}", cmd.join(" "));
            }
        }
    }
}
