//! The namespaces: a hub holding the underlay bridge (the test body runs there), one
//! namespace per node attached to it, and pods behind point-to-point veths to their
//! node (so every pod packet is routed by the node, as with Calico). Every command runs
//! inside a namespace created here; the host's own network is never touched.

use std::process::{Command, Output};

use node_agent::netns_testing::Netns;

/// The underlay subnet on the hub's bridge; the hub is `.1`, node of cluster `id` is `.1<id>`.
const UNDERLAY: &str = "192.168.77";

/// One cluster: one node, a backend pod and (for `a`) a client pod.
pub struct Cluster {
    pub name: &'static str,
    pub id: u8,
    pub node_ns: String,
    pub web_ns: String,
    pub client_ns: String,
}

impl Cluster {
    fn new(hub: &str, name: &'static str, id: u8) -> Self {
        Self {
            name,
            id,
            node_ns: format!("{hub}-{name}"),
            web_ns: format!("{hub}-{name}-web"),
            client_ns: format!("{hub}-{name}-cli"),
        }
    }
    pub fn node_name(&self) -> String {
        format!("{}-node1", self.name)
    }
    pub fn underlay_ip(&self) -> String {
        format!("{UNDERLAY}.{}", 10 + u32::from(self.id))
    }
    pub fn pod_cidr(&self) -> String {
        format!("10.{}.0.0/24", self.id)
    }
    pub fn backend_ip(&self) -> String {
        format!("10.{}.0.10", self.id)
    }
    pub fn client_ip(&self) -> String {
        format!("10.{}.0.20", self.id)
    }
    fn gateway(&self) -> String {
        format!("10.{}.0.1", self.id)
    }
}

pub struct Topology {
    pub hub: String,
    pub a: Cluster,
    pub b: Cluster,
}

impl Topology {
    /// The names derived from the hub's; the same in the parent and inside the hub.
    pub fn named(hub: &str) -> Self {
        Self {
            hub: hub.to_owned(),
            a: Cluster::new(hub, "a", 1),
            b: Cluster::new(hub, "b", 2),
        }
    }

    /// The topology around the namespace this process runs in (the hub).
    pub fn current() -> Self {
        let out = run(&["ip", "netns", "identify"]);
        let hub = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(!hub.is_empty(), "this process runs in no named namespace");
        Self::named(&hub)
    }

    /// Builds everything around `hub`; the returned guards delete the namespaces.
    pub fn build(hub: &Netns) -> (Self, Vec<Ns>) {
        let topo = Self::named(&hub.name);
        let h = hub.name.as_str();
        run(&["ip", "-n", h, "link", "add", "br0", "type", "bridge"]);
        run(&[
            "ip",
            "-n",
            h,
            "addr",
            "add",
            &format!("{UNDERLAY}.1/24"),
            "dev",
            "br0",
        ]);
        run(&["ip", "-n", h, "link", "set", "br0", "up"]);
        let mut guards = Vec::new();
        for c in [&topo.a, &topo.b] {
            guards.push(Ns::new(&c.node_ns));
            let (node, hub_if) = (c.node_ns.as_str(), format!("v{}", c.name));
            run(&[
                "ip", "-n", h, "link", "add", &hub_if, "type", "veth", "peer", "name", "eth0",
                "netns", node,
            ]);
            run(&["ip", "-n", h, "link", "set", &hub_if, "master", "br0", "up"]);
            run(&[
                "ip",
                "-n",
                node,
                "addr",
                "add",
                &format!("{}/24", c.underlay_ip()),
                "dev",
                "eth0",
            ]);
            run(&["ip", "-n", node, "link", "set", "eth0", "up"]);
            run(&[
                "ip",
                "netns",
                "exec",
                node,
                "sysctl",
                "-qw",
                "net.ipv4.ip_forward=1",
            ]);
            guards.push(pod(c, &c.web_ns, "web0", &c.backend_ip()));
            if c.name == "a" {
                guards.push(pod(c, &c.client_ns, "cli0", &c.client_ip()));
            }
        }
        (topo, guards)
    }
}

/// A pod namespace at `ip`, behind veth `node_if` of its node.
fn pod(c: &Cluster, ns: &str, node_if: &str, ip: &str) -> Ns {
    let guard = Ns::new(ns);
    let (node, gw) = (c.node_ns.as_str(), c.gateway());
    run(&[
        "ip", "-n", node, "link", "add", node_if, "type", "veth", "peer", "name", "eth0", "netns",
        ns,
    ]);
    run(&[
        "ip",
        "-n",
        node,
        "addr",
        "add",
        &format!("{gw}/32"),
        "dev",
        node_if,
    ]);
    run(&["ip", "-n", node, "link", "set", node_if, "up"]);
    run(&[
        "ip",
        "-n",
        node,
        "route",
        "add",
        &format!("{ip}/32"),
        "dev",
        node_if,
        "src",
        &gw,
    ]);
    run(&[
        "ip",
        "-n",
        ns,
        "addr",
        "add",
        &format!("{ip}/32"),
        "dev",
        "eth0",
    ]);
    run(&["ip", "-n", ns, "link", "set", "eth0", "up"]);
    run(&[
        "ip", "-n", ns, "route", "add", &gw, "dev", "eth0", "scope", "link",
    ]);
    run(&[
        "ip", "-n", ns, "route", "add", "default", "via", &gw, "dev", "eth0",
    ]);
    guard
}

/// A namespace made here. On drop it kills what still runs in it (only processes this
/// test started live there), by PID, and deletes it, unless `CLUSTERMESH_KEEP` is set.
pub struct Ns {
    pub name: String,
}

impl Ns {
    fn new(name: &str) -> Self {
        run(&["ip", "netns", "add", name]);
        let ns = Self {
            name: name.to_owned(),
        };
        run(&["ip", "-n", name, "link", "set", "lo", "up"]);
        ns
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        if super::keep() {
            eprintln!("CLUSTERMESH_KEEP: keeping network namespace {}", self.name);
            return;
        }
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub use node_agent::netns_testing::run;

/// Runs `args` inside namespace `ns` and asserts it succeeded.
pub fn in_ns(ns: &str, args: &[&str]) -> Output {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(args);
    run(&full)
}
