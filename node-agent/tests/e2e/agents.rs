//! The real `node-agent` binary inside a node namespace, `node-agent cleanup`, and the
//! state dump printed when the test fails.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use super::{
    clusters::{Apiserver, http_get, path},
    processes::Spawned,
    topology::Cluster,
    wait_until,
};

pub const WG_PORT: &str = "51820";
/// Each agent's `/metrics`, `/healthz`, `/readyz`, on its node's underlay address.
pub const AGENT_METRICS_PORT: u16 = 9962;

pub fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_node-agent")
}

/// A running agent; on drop it is stopped and (unless kept) its dataplane cleaned up.
pub struct Agent {
    pub node_ns: String,
    pub interface: String,
    pub process: Spawned,
    /// `host:port` of its metrics listener.
    pub metrics_addr: String,
    args: Vec<String>,
    log: PathBuf,
    starts: u32,
    cleaned: bool,
}

impl Agent {
    pub fn start(c: &Cluster, api: &Apiserver, dir: &Path, interface: &str) -> Self {
        Self::start_with(c, api, dir, interface, "wireguard-go")
    }

    /// With `userspace` (`--wireguard-userspace`) running the device.
    pub fn start_with(
        c: &Cluster,
        api: &Apiserver,
        dir: &Path,
        interface: &str,
        userspace: &str,
    ) -> Self {
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
        let metrics_addr = format!("{ip}:{AGENT_METRICS_PORT}");
        let args = [
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
            "--wireguard-userspace",
            userspace,
            "--wg-interface",
            interface,
            "--wg-port",
            WG_PORT,
            "--underlay-address",
            &ip,
            "--metrics-listen",
            &metrics_addr,
        ];
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let log = dir.join(format!("agent-{}.log", c.name));
        let process = spawn(&c.node_ns, &args, &log);
        Self {
            node_ns: c.node_ns.clone(),
            interface: interface.to_owned(),
            process,
            metrics_addr,
            args,
            log,
            starts: 1,
            cleaned: false,
        }
    }

    /// SIGKILL, then the same command again; returns the new log file.
    pub fn kill_and_restart(&mut self) -> PathBuf {
        self.process.kill();
        self.starts += 1;
        let log = self.log.with_extension(format!("{}.log", self.starts));
        self.process = spawn(&self.node_ns, &self.args, &log);
        log
    }

    /// Waits for `/readyz` to answer 200.
    pub fn wait_ready(&mut self, within: Duration) {
        let addr = self.metrics_addr.clone();
        wait_until(within, Duration::from_millis(20), "agent ready", || {
            self.process.assert_running();
            http_get(&addr, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
        });
    }

    /// The `/metrics` body.
    pub fn metrics(&self) -> String {
        let response = http_get(&self.metrics_addr, "/metrics").expect("agent /metrics answers");
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or(response)
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

fn spawn(node_ns: &str, args: &[String], log: &Path) -> Spawned {
    let args: Vec<&str> = std::iter::once(agent_bin())
        .chain(args.iter().map(String::as_str))
        .collect();
    Spawned::start(
        &format!("agent in {node_ns}"),
        node_ns,
        &args,
        &[("RUST_LOG", "info")],
        log,
    )
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
