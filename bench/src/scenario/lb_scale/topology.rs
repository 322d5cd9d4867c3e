//! Three namespaces made for lb-scale, removed on drop: a node routing between a client
//! pod and a backend pod, each pod on its own veth. Interfaces are created inside the
//! namespaces (`ip -n`), so nothing on the host is named or touched.

use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};

/// How many extra addresses the client pod has: one per load run.
pub const CLIENT_SOURCES: u8 = 32;

/// The client pod's `n`th extra address.
pub fn client_source(n: u8) -> String {
    format!("10.244.1.{}", 10 + u16::from(n))
}

pub struct Topology {
    pub node: String,
    pub client: String,
    pub server: String,
}

impl Topology {
    pub fn build() -> anyhow::Result<Self> {
        let pid = std::process::id();
        let topo = Self {
            node: format!("cmb-lb-node-{pid}"),
            client: format!("cmb-lb-cli-{pid}"),
            server: format!("cmb-lb-srv-{pid}"),
        };
        for ns in [&topo.node, &topo.client, &topo.server] {
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        let n = topo.node.as_str();
        for (pod, node_if, node_addr, pod_addr) in [
            (&topo.client, "to-client", "10.244.1.1/24", "10.244.1.2/24"),
            (&topo.server, "to-server", "10.244.2.1/24", "10.244.2.2/24"),
        ] {
            ip(&[
                "-n", n, "link", "add", node_if, "type", "veth", "peer", "name", "eth0", "netns",
                pod,
            ])?;
            ip(&["-n", n, "addr", "add", node_addr, "dev", node_if])?;
            ip(&["-n", n, "link", "set", node_if, "up"])?;
            ip(&["-n", pod, "addr", "add", pod_addr, "dev", "eth0"])?;
            ip(&["-n", pod, "link", "set", "eth0", "up"])?;
            let gateway = node_addr.trim_end_matches("/24");
            ip(&["-n", pod, "route", "add", "default", "via", gateway])?;
        }
        for n in 0..CLIENT_SOURCES {
            let source = format!("{}/24", client_source(n));
            ip(&["-n", &topo.client, "addr", "add", &source, "dev", "eth0"])?;
        }
        topo.exec(n, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        // Every connection leaves a conntrack entry; the defaults (120 s in TIME_WAIT,
        // 10 s after a reset) would fill the table at these rates, for both balancers.
        for timeout in ["time_wait", "close"] {
            let sysctl = format!("net.netfilter.nf_conntrack_tcp_timeout_{timeout}=1");
            topo.exec(n, &["sysctl", "-qw", &sysctl])?;
        }
        Ok(topo)
    }

    /// Runs `args` in namespace `ns` and returns its stdout; fails with its stderr.
    pub fn exec(&self, ns: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut full = vec!["netns", "exec", ns];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Starts `args` in namespace `ns`, its stdout piped.
    pub fn spawn(&self, ns: &str, args: &[&str]) -> anyhow::Result<Child> {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} in {ns}", args.join(" ")))
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in [&self.node, &self.client, &self.server] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// `ip ARGS`: its stdout, or an error with its stderr.
fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .with_context(|| format!("running ip {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "ip {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
