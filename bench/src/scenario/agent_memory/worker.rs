//! Inside the scenario's namespace: two apiservers in this process, a real
//! `node-agent` for cluster b's node, and cluster a's export grown step by step. Prints
//! the steps as JSON on stdout.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use clustermesh_apiserver::source::ClusterObjects;
use clustermesh_proto::tls::Role;
use tokio::time::Instant;

use super::{BACKENDS, ENDPOINTS, SERVICES, Step};
use crate::mesh::{MeshCluster, StoreKind, connect, connect::client_config, workload};

const METRICS: &str = "127.0.0.1:9964";
const INTERFACE: &str = "cmbmem0";
const WAIT: Duration = Duration::from_secs(300);

pub fn run() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let steps = runtime.block_on(measure())?;
    println!("{}", serde_json::to_string(&steps)?);
    Ok(())
}

fn shape(pods: u32, services: u32) -> workload::Shape {
    workload::Shape {
        cluster_index: 1,
        nodes: 250,
        pods,
        services,
        backends: BACKENDS,
    }
}

async fn measure() -> anyhow::Result<Vec<Step>> {
    let b_shape = workload::Shape {
        cluster_index: 2,
        nodes: 1,
        pods: 0,
        services: 0,
        backends: 0,
    };
    // The agent's memory is what is measured; the apiservers' store does not matter.
    let mut a = MeshCluster::start(
        "a",
        1,
        &shape(0, 0).pod_cidr(),
        StoreKind::Memory,
        ClusterObjects::default(),
    )
    .await?;
    let b = MeshCluster::start(
        "b",
        2,
        &b_shape.pod_cidr(),
        StoreKind::Memory,
        workload::objects("b", b_shape),
    )
    .await?;
    let dir = tempfile::tempdir()?;
    connect(&client_config(&[&a, &b], dir.path())?, &a, &b).await?;
    let mut agent = Agent::start(&b, dir.path())?;
    let result = steps(&mut a, &mut agent).await;
    agent.stop(dir.path());
    a.stop().await?;
    b.stop().await?;
    result
}

async fn steps(a: &mut MeshCluster, agent: &mut Agent) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    let started = Instant::now();
    agent
        .wait_for(&[("clusters", 2), ("endpoints", 0)], started)
        .await?;
    steps.push(agent.step("empty", 0, 0)?);
    let mut plan: Vec<(String, u32)> = vec![("10k services".into(), 0)];
    plan.extend(
        ENDPOINTS
            .iter()
            .map(|&n| (format!("10k services, {n} endpoints"), n)),
    );
    for (name, endpoints) in plan {
        let objects = Arc::new(workload::objects("a", shape(endpoints, SERVICES)));
        let started = Instant::now();
        a.publish(objects);
        let endpoints_text = endpoints.to_string();
        let services_text = SERVICES.to_string();
        agent
            .wait_for(
                &[
                    ("endpoints", endpoints as usize),
                    ("services", SERVICES as usize),
                ],
                started,
            )
            .await
            .with_context(|| {
                format!("{name}: {endpoints_text} endpoints, {services_text} services")
            })?;
        steps.push(agent.step(&name, endpoints, SERVICES)?);
    }
    Ok(steps)
}

/// The real agent, for node `b-node0`.
struct Agent {
    child: Child,
    converged: Duration,
}

impl Agent {
    fn start(b: &MeshCluster, dir: &Path) -> anyhow::Result<Self> {
        let cert = b.issue(Role::Agent, "b-node0")?;
        let write = |name: &str, pem: &str| -> anyhow::Result<String> {
            let path = dir.join(name);
            std::fs::write(&path, pem)?;
            Ok(path.display().to_string())
        };
        let ca = write("agent-ca.pem", b.ca.cert_pem())?;
        let crt = write("agent.pem", &cert.cert_pem)?;
        let key = write("agent-key.pem", &cert.key_pem)?;
        let state = dir.join("agent-state").display().to_string();
        let apiserver = format!("https://{}", b.addr);
        let bin = crate::demo::release_dir()?.join("node-agent");
        let log = std::fs::File::create(dir.join("agent.log"))?;
        let child = Command::new(&bin)
            .args(["run", "--node-name", "b-node0", "--apiserver", &apiserver])
            .args([
                "--ca",
                &ca,
                "--cert",
                &crt,
                "--key",
                &key,
                "--state-dir",
                &state,
            ])
            .args(["--wireguard", "userspace", "--wg-interface", INTERFACE])
            .args(["--wg-port", "51820", "--underlay-address", "127.0.0.1"])
            .args(["--metrics-listen", METRICS])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok(Self {
            child,
            converged: Duration::ZERO,
        })
    }

    /// Waits until the agent's `view_records` gauges show `counts` (by kind name) and
    /// its dataplane is applied; notes how long since `started`.
    async fn wait_for(&mut self, counts: &[(&str, usize)], started: Instant) -> anyhow::Result<()> {
        let deadline = started + WAIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("node-agent exited ({status})");
            }
            if let Some(metrics) = scrape("/metrics")
                && counts
                    .iter()
                    .all(|(kind, n)| gauge(&metrics, kind) == Some(*n))
                && scrape("/readyz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
            {
                self.converged = started.elapsed();
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the agent did not converge within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn step(&self, name: &str, endpoints: u32, services: u32) -> anyhow::Result<Step> {
        let (rss_bytes, peak_bytes) = memory(self.child.id())?;
        eprintln!(
            "agent-memory {name}: RSS {:.1} MiB, peak {:.1} MiB, converged in {} ms",
            rss_bytes as f64 / 1048576.0,
            peak_bytes as f64 / 1048576.0,
            self.converged.as_millis()
        );
        Ok(Step {
            name: name.to_owned(),
            endpoints,
            services,
            rss_bytes,
            peak_bytes,
            converged_ms: u64::try_from(self.converged.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Stops the agent (its own PID) and removes its device and rules.
    fn stop(mut self, dir: &Path) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        let bin = crate::demo::release_dir().map(|d| d.join("node-agent"));
        if let Ok(bin) = bin {
            let _ = Command::new(bin)
                .args(["cleanup", "--wg-interface", INTERFACE])
                .stdout(Stdio::null())
                .stderr(
                    std::fs::File::create(dir.join("cleanup.log"))
                        .map_or(Stdio::null(), Stdio::from),
                )
                .status();
        }
    }
}

/// `clustermesh_agent_view_records{kind="KIND"}`.
fn gauge(metrics: &str, kind: &str) -> Option<usize> {
    let prefix = format!("clustermesh_agent_view_records{{kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// VmRSS and VmHWM of `pid`, in bytes.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("{line:?}"))?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// A plain HTTP GET of the agent's metrics listener: the whole response, or `None`.
fn scrape(path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(METRICS).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}
