//! The example brought up for one test: `examples/multicloud/demo.sh up` under a prefix
//! and state dir of the test's own, driven through the script's subcommands, and torn
//! down (`demo.sh down`) when the guard drops, after dumping the logs if the test
//! failed. `CLUSTERMESH_KEEP=1` leaves everything up and says how to remove it.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use serde_json::Value;

use crate::{
    cmd::{self, Output},
    preflight::{self, Binaries},
};

pub const CLOUDS: [&str; 3] = ["aws", "gcp", "onprem"];
/// The global service default/echo, in every cloud.
pub const VIP: &str = "10.96.0.10";
pub const ECHO_PORT: u16 = 8080;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/multicloud/demo.sh"
);
const UP_WITHIN: Duration = Duration::from_secs(180);
const CONNECT_WITHIN: Duration = Duration::from_secs(180);
const DOWN_WITHIN: Duration = Duration::from_secs(90);
const CTL_WITHIN: Duration = Duration::from_secs(90);
const EXEC_WITHIN: Duration = Duration::from_secs(10);

/// `examples/multicloud/demo.sh`.
fn script() -> PathBuf {
    let path = Path::new(SCRIPT);
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

/// One demo at a time: each is 3 apiservers, 6 agents, 6 userspace WireGuard devices
/// and the probes, and the suite's time bounds (a node out of load balancing within
/// the lease TTL + 1 s) are about the product, not about a 2-core machine shared by
/// five of them.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The cloud's numeric id, as the demo numbers its addresses.
pub fn cloud_id(cloud: &str) -> u8 {
    match cloud {
        "aws" => 1,
        "gcp" => 2,
        "onprem" => 3,
        other => panic!("no cloud {other:?} in the demo"),
    }
}

/// What its echo pod answers.
pub fn echo_answer(cloud: &str) -> String {
    format!("echo-{cloud}-1 in {cloud}")
}

/// The other two clouds.
pub fn others(cloud: &str) -> Vec<&'static str> {
    CLOUDS.into_iter().filter(|c| *c != cloud).collect()
}

/// Whether `CLUSTERMESH_KEEP` asks to keep namespaces and processes for debugging.
pub fn keep() -> bool {
    std::env::var_os("CLUSTERMESH_KEEP").is_some_and(|v| !v.is_empty())
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `CLUSTERMESH_DEMO_ECHO_NODE`: the node (1 or 2) of every cloud's echo pod.
    pub echo_node: u8,
}

impl Default for Options {
    fn default() -> Self {
        Self { echo_node: 1 }
    }
}

pub struct Demo {
    pub prefix: String,
    /// `CLUSTERMESH_DEMO_DIR` (removed by `down`).
    pub state: PathBuf,
    /// Beside the state dir, for the test's own files (probers); removed on drop.
    pub scratch: PathBuf,
    pub options: Options,
    bins: Binaries,
    tmp: Option<tempfile::TempDir>,
    down: bool,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Demo {
    /// `demo.sh up` for test `tag` (a few letters naming the test).
    pub fn up(tag: &str) -> Self {
        Self::up_with(tag, Options::default())
    }

    pub fn up_with(tag: &str, options: Options) -> Self {
        let bins = preflight::check();
        let one_at_a_time = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let prefix = prefix(tag, std::process::id());
        let tmp = tempfile::Builder::new()
            .prefix(&format!("clustermesh-{prefix}-"))
            .tempdir()
            .expect("a temporary directory");
        let scratch = tmp.path().join("test");
        std::fs::create_dir(&scratch).expect("the scratch dir");
        let demo = Self {
            state: tmp.path().join("state"),
            scratch,
            prefix,
            options,
            bins,
            tmp: Some(tmp),
            down: false,
            _one_at_a_time: one_at_a_time,
        };
        eprintln!(
            "demo {}: state {}, binaries {}",
            demo.prefix,
            demo.state.display(),
            demo.bins.dir.display()
        );
        demo.script(&["up"], UP_WITHIN).ok();
        demo
    }

    /// `demo.sh connect`: every pair connected, and every agent programs the mesh.
    pub fn connect(&self) {
        self.script(&["connect"], CONNECT_WITHIN).ok();
    }

    /// `demo.sh ARGS…` with this demo's settings, run to completion.
    pub fn script(&self, args: &[&str], within: Duration) -> Output {
        cmd::run(self.command(args), within)
    }

    /// `demo.sh ARGS…` with this demo's settings, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(script());
        cmd.args(args)
            .env("CLUSTERMESH_DEMO_PREFIX", &self.prefix)
            .env("CLUSTERMESH_DEMO_DIR", &self.state)
            .env("CLUSTERMESH_BIN_DIR", &self.bins.dir)
            .env("CLUSTERMESH_CTL", &self.bins.ctl)
            .env(
                "CLUSTERMESH_DEMO_ECHO_NODE",
                self.options.echo_node.to_string(),
            )
            .env("NO_COLOR", "1");
        // Nothing of the caller's ctl settings leaks into the demo's ctl.
        for var in [
            "CLUSTERMESH_CONFIG",
            "CLUSTERMESH_OUTPUT",
            "CLUSTERMESH_TIMEOUT",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `demo.sh ctl ARGS…`: ctl in the hub namespace with the demo's config.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let mut all = vec!["ctl"];
        all.extend_from_slice(args);
        self.script(&all, CTL_WITHIN)
    }

    /// `ctl -o json ARGS…`, its output and its stdout parsed (panics if it is not JSON).
    pub fn ctl_json(&self, args: &[&str]) -> (Output, Value) {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        let json = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`ctl {}` printed no JSON ({e}):\n{out}", all.join(" ")));
        (out, json)
    }

    /// `demo.sh exec CLOUD POD -- ARGS…` (POD: echo, client, node1, node2).
    pub fn exec(&self, cloud: &str, pod: &str, args: &[&str]) -> Output {
        let mut all = vec!["exec", cloud, pod, "--"];
        all.extend_from_slice(args);
        self.script(&all, EXEC_WITHIN)
    }

    pub fn hub_ns(&self) -> String {
        format!("{}-hub", self.prefix)
    }

    pub fn node_ns(&self, cloud: &str, node: u8) -> String {
        format!("{}-{cloud}{node}", self.prefix)
    }

    pub fn pod_ns(&self, cloud: &str, pod: &str) -> String {
        format!("{}-{cloud}-{pod}", self.prefix)
    }

    /// The WireGuard interface of a node (`<prefix>wg<id><node>`).
    pub fn wg_interface(&self, cloud: &str, node: u8) -> String {
        format!("{}wg{}{node}", self.prefix, cloud_id(cloud))
    }

    /// The echo pod's IP (`10.<id>.<echo node>.10`).
    pub fn echo_ip(&self, cloud: &str) -> String {
        format!("10.{}.{}.10", cloud_id(cloud), self.options.echo_node)
    }

    /// The apiserver's /metrics, /healthz and /readyz address.
    pub fn apiserver_metrics(&self, cloud: &str) -> String {
        format!("172.30.0.{}:9090", cloud_id(cloud) * 10 + 1)
    }

    /// The file the cloud's apiserver reads its manifests from.
    pub fn manifests(&self, cloud: &str) -> PathBuf {
        self.state
            .join(cloud)
            .join("manifests")
            .join("cluster.yaml")
    }

    pub fn ctl_config(&self) -> PathBuf {
        self.state.join("ctl.yaml")
    }

    pub fn apiserver_bin(&self) -> &Path {
        &self.bins.apiserver
    }

    pub fn logs(&self) -> PathBuf {
        self.state.join("logs")
    }

    /// The PID `up` recorded for NAME (`agent-aws2`, `echo-gcp`, `apiserver-onprem`), if
    /// that process still runs the program it was started as.
    pub fn recorded_pid(&self, name: &str) -> Option<u32> {
        let text =
            std::fs::read_to_string(self.state.join("pids").join(format!("{name}.pid"))).ok()?;
        let (pid, program) = text.trim_end().split_once('\t')?;
        let pid: u32 = pid.parse().ok()?;
        let argv0 = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let argv0 = argv0.split(|b| *b == 0).next()?;
        (argv0 == program.as_bytes()).then_some(pid)
    }

    /// PIDs of the `wireguard-go` processes serving a node's interface (the agent starts
    /// `wireguard-go -f IFACE`; IFACE carries our prefix), from /proc.
    pub fn device_pids(&self, cloud: &str, node: u8) -> Vec<u32> {
        let iface = self.wg_interface(cloud, node);
        proc_cmdlines()
            .into_iter()
            .filter(|(_, args)| {
                args.first().is_some_and(|a| a.ends_with("wireguard-go"))
                    && args.iter().skip(1).any(|a| *a == iface)
            })
            .map(|(pid, _)| pid)
            .collect()
    }

    /// The PIDs inside namespace `ns` (`ip netns pids`).
    pub fn namespace_pids(&self, ns: &str) -> Vec<u32> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "pids", ns]);
        cmd::run(cmd, EXEC_WITHIN)
            .ok()
            .stdout
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// `curl` of `url` from inside the hub namespace: whether it answered 200.
    pub fn hub_http_ok(&self, url: &str) -> bool {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.hub_ns()]).args([
            "curl",
            "-sf",
            "-o",
            "/dev/null",
            "--max-time",
            "1",
            url,
        ]);
        cmd::run(cmd, EXEC_WITHIN).code == Some(0)
    }

    /// `demo.sh down`, checked: it succeeds, and no namespace or process of this demo is
    /// left. (With `CLUSTERMESH_KEEP`, leaves everything up instead.)
    pub fn down(mut self) {
        if keep() {
            return; // Drop says what is kept.
        }
        self.down = true;
        self.script(&["down"], DOWN_WITHIN).ok();
        let namespaces = self.namespaces();
        assert!(
            namespaces.is_empty(),
            "demo.sh down left namespaces: {namespaces:?}"
        );
        let processes = self.processes();
        assert!(
            processes.is_empty(),
            "demo.sh down left processes: {processes:?}"
        );
    }

    /// Our namespaces that exist.
    fn namespaces(&self) -> Vec<String> {
        let out = cmd::run(
            {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "list"]);
                cmd
            },
            EXEC_WITHIN,
        )
        .ok();
        let ours = format!("{}-", self.prefix);
        out.stdout
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|ns| ns.starts_with(&ours))
            .map(str::to_owned)
            .collect()
    }

    /// Processes whose command line names our state dir or one of our WireGuard
    /// interfaces: everything the demo started (apiservers, agents and their devices,
    /// echo pods), and the test's probers (their files are beside the state dir).
    fn processes(&self) -> Vec<(u32, String)> {
        let root = self.tmp.as_ref().map(|t| t.path().to_owned());
        let Some(root) = root else { return Vec::new() };
        let root = root.to_string_lossy().into_owned();
        let wg = format!("{}wg", self.prefix);
        proc_cmdlines()
            .into_iter()
            .filter(|(_, args)| args.iter().any(|a| a.contains(&root) || a.starts_with(&wg)))
            .map(|(pid, args)| (pid, args.join(" ")))
            .collect()
    }

    /// Everything useful after a failure: the tail of every log, ctl status, and each
    /// node's WireGuard and nftables state.
    fn dump(&self) {
        eprintln!(
            "\n===== demo {} failed: state {} =====",
            self.prefix,
            self.state.display()
        );
        let mut logs: Vec<PathBuf> = std::fs::read_dir(self.logs())
            .map(|dir| dir.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!("----- {} (last {} lines) -----", log.display(), tail.len());
            for line in tail {
                eprintln!("{line}");
            }
        }
        if !self.state.join("ctl.yaml").exists() {
            return;
        }
        let status = self.script(&["ctl", "status"], Duration::from_secs(20));
        eprintln!("----- ctl status -----\n{status}");
        for cloud in CLOUDS {
            // A full accept queue drops SYNs: clients see 1 s stalls.
            let out = self.exec(
                cloud,
                "echo",
                &["nstat", "-az", "TcpExtListenOverflows", "TcpExtListenDrops"],
            );
            eprintln!("----- {cloud} echo pod: nstat -----\n{out}");
            // Retransmitted SYNs mean packets lost somewhere on the clients' paths.
            let out = self.exec(
                cloud,
                "client",
                &["nstat", "-az", "TcpExtTCPSynRetrans", "TcpRetransSegs"],
            );
            eprintln!("----- {cloud} client pod: nstat -----\n{out}");
            for node in [1, 2] {
                let iface = self.wg_interface(cloud, node);
                for args in [
                    vec!["wg", "show", iface.as_str()],
                    // Where a tunnel drops packets: the device's queue, or its UDP socket.
                    vec!["ip", "-s", "link", "show", iface.as_str()],
                    vec!["nstat", "-az", "UdpRcvbufErrors", "UdpSndbufErrors"],
                    vec!["nft", "list", "table", "inet", "clustermesh"],
                    vec!["ip", "route"],
                ] {
                    let out = self.script(
                        &[&["exec", cloud, &format!("node{node}"), "--"], &args[..]].concat(),
                        EXEC_WITHIN,
                    );
                    eprintln!("----- {cloud} node{node}: {} -----\n{out}", args.join(" "));
                }
            }
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump();
        }
        if self.down {
            return;
        }
        if keep() {
            let files = self.tmp.take().map(|t| t.keep()).unwrap_or_default();
            eprintln!(
                "CLUSTERMESH_KEEP: leaving demo {prefix} up. Remove it with:\n  \
                 CLUSTERMESH_DEMO_PREFIX={prefix} CLUSTERMESH_DEMO_DIR={state} {script} down \
                 && rm -rf {files}",
                prefix = self.prefix,
                state = self.state.display(),
                script = script().display(),
                files = files.display(),
            );
            return;
        }
        let out = self.script(&["down"], DOWN_WITHIN);
        if out.code != Some(0) {
            eprintln!("demo.sh down failed for {}:\n{out}", self.prefix);
        }
    }
}

/// A prefix of at most 10 of `[a-z0-9]`, starting with a letter: the test's tag, then
/// the process id in base 36 (at most 5 characters for PIDs up to 2^22).
pub fn prefix(tag: &str, pid: u32) -> String {
    let mut digits = Vec::new();
    let mut n = pid;
    loop {
        digits.push(char::from_digit(n % 36, 36).expect("a base-36 digit"));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    let prefix: String = tag.chars().chain(digits.into_iter().rev()).collect();
    assert!(
        prefix.len() <= 10
            && prefix.starts_with(|c: char| c.is_ascii_lowercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "bad demo prefix {prefix:?} (tag {tag:?}, pid {pid})"
    );
    prefix
}

/// Every process's PID and arguments, from /proc.
fn proc_cmdlines() -> Vec<(u32, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some((pid, args))
        })
        .collect()
}
