//! The real `clustermesh-apiserver` binary per cluster: `init`, an agent certificate
//! from `issue-cert`, `run` inside the node namespace, and the two clusters connected
//! through the Admin API with the admin credentials `init` wrote into the ctl config.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use super::{manifests, processes::Spawned, topology::Cluster};

pub const API_PORT: u16 = 7443;
pub const METRICS_PORT: u16 = 9090;

/// `target/<profile>/clustermesh-apiserver`, next to this test's binary.
pub fn apiserver_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("own test binary");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .join("clustermesh-apiserver");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p clustermesh-apiserver` first",
        bin.display()
    );
    bin
}

/// One cluster's apiserver and the files around it.
pub struct Apiserver {
    pub manifests: PathBuf,
    /// `ca.crt`, `tls.crt`, `tls.key` for the node's agent.
    pub agent_certs: PathBuf,
    pub process: Spawned,
}

impl Apiserver {
    /// `init`s the cluster, issues its agent certificate, writes its manifests and runs
    /// the apiserver inside the node namespace.
    pub fn start(c: &Cluster, dir: &Path, ctl_config: &Path, local_affinity: bool) -> Self {
        let bin = apiserver_bin();
        let data = dir.join(format!("{}-data", c.name));
        let advertise = format!("{}:{API_PORT}", c.underlay_ip());
        let id = c.id.to_string();
        let (data_s, ctl_s) = (path(&data), path(ctl_config));
        tool(
            &bin,
            &[
                "init",
                "--cluster-name",
                c.name,
                "--cluster-id",
                &id,
                "--data-dir",
                &data_s,
                "--advertise",
                &advertise,
                "--ctl-config",
                &ctl_s,
            ],
        );
        let agent_certs = dir.join(format!("{}-agent", c.name));
        tool(
            &bin,
            &[
                "issue-cert",
                "--data-dir",
                &data_s,
                "--role",
                "agent",
                "--name",
                &c.node_name(),
                "--out",
                &path(&agent_certs),
            ],
        );
        let manifest_dir = dir.join(format!("{}-manifests", c.name));
        std::fs::create_dir_all(&manifest_dir).expect("manifest dir");
        manifests::write(
            &manifest_dir,
            "objects.yaml",
            &manifests::objects(c, true, local_affinity),
        );
        let source = format!("manifests:{}", manifest_dir.display());
        let metrics = format!("{}:{METRICS_PORT}", c.underlay_ip());
        let args = [
            path(&bin),
            "run".into(),
            "--data-dir".into(),
            data_s,
            "--store".into(),
            "memory".into(),
            "--source".into(),
            source,
            "--listen".into(),
            advertise,
            "--metrics-listen".into(),
            metrics,
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = dir.join(format!("apiserver-{}.log", c.name));
        let process = Spawned::start(
            &format!("apiserver {}", c.name),
            &c.node_ns,
            &args,
            &[("RUST_LOG", "info")],
            &log,
        );
        Self {
            manifests: manifest_dir,
            agent_certs,
            process,
        }
    }

    /// Rewrites the cluster's manifests with the backend's readiness.
    pub fn set_backend_ready(&self, c: &Cluster, ready: bool, local_affinity: bool) {
        manifests::write(
            &self.manifests,
            "objects.yaml",
            &manifests::objects(c, ready, local_affinity),
        );
    }

    /// Waits for `/readyz` (the first complete export).
    pub fn wait_ready(&mut self, c: &Cluster) {
        let addr = format!("{}:{METRICS_PORT}", c.underlay_ip());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !http_get(&addr, "/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            self.process.assert_running();
            assert!(
                Instant::now() < deadline,
                "apiserver {} not ready within 30 s:\n{}",
                c.name,
                self.process.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn path(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_owned()
}

/// Runs the apiserver binary once (outside any node namespace: no network involved).
fn tool(bin: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .args(args)
        .output()
        .expect("apiserver binary runs");
    assert!(
        out.status.success(),
        "clustermesh-apiserver {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain HTTP/1.1 GET; `None` while nothing answers.
pub fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&addr.parse().ok()?, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
