//! A fake node agent for drills: it registers its node, keeps the lease alive, and
//! answers probe assignments on `Mesh.Probes` without a dataplane. Every probe
//! succeeds; it is served by the faulted cluster while this cluster imports that
//! cluster's service backends ready and reachable (ListGlobalServices, polled), else
//! by this cluster itself: the load balancer's choice, simulated from the store.
//! Reports come every 100 ms with cumulative per-cluster counters, like a real agent's.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use clustermesh_apiserver::data_dir::DataDir;
use clustermesh_proto::{
    ClusterName, pb,
    tls::{self, ClusterCa, IssuedCert, Role},
};
use tokio::{sync::mpsc, task::JoinSet};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::{TestCluster, eventually};

const VALIDITY: Duration = Duration::from_secs(3600);
const REPORT_EVERY: Duration = Duration::from_millis(100);
const POLL_EVERY: Duration = Duration::from_millis(20);

pub struct FakeAgent {
    pub node: String,
    tasks: JoinSet<()>,
}

/// Which cluster serves a probe now.
type Serving = Arc<Mutex<String>>;

async fn channel(cluster: &TestCluster, ca: &ClusterCa, role: Role, name: &str) -> Channel {
    let IssuedCert { cert_pem, key_pem } = ca.issue(role, name, &[], VALIDITY).expect("cert");
    let server = tls::apiserver_server_name(&ClusterName::new(&cluster.name).expect("name"));
    let tls = tls::client_tls(ca.cert_pem(), &cert_pem, &key_pem, &server).expect("TLS");
    tonic::transport::Endpoint::from_shared(format!("https://{}", cluster.addr))
        .expect("endpoint")
        .tls_config(tls)
        .expect("TLS config")
        .connect()
        .await
        .expect("connects")
}

/// An admin client of `cluster`, with a certificate from its data directory's CA.
pub async fn admin(cluster: &TestCluster) -> pb::admin_client::AdminClient<Channel> {
    let data = DataDir::open(&cluster.data_dir).expect("data dir");
    let ca = ClusterCa::from_pem(data.ca_pem(), &data.ca().key_pem()).expect("CA");
    pb::admin_client::AdminClient::new(channel(cluster, &ca, Role::Admin, "admin").await)
}

/// Whether `importer` holds `cluster`'s copy of `namespace/name` with every backend
/// ready; `None` when it holds none (or cannot be asked).
pub async fn imported_ready(
    importer: &TestCluster,
    cluster: &str,
    namespace: &str,
    name: &str,
) -> Option<bool> {
    let request = pb::ListGlobalServicesRequest {
        namespace: namespace.to_owned(),
    };
    let services = admin(importer)
        .await
        .list_global_services(request)
        .await
        .ok()?
        .into_inner()
        .services;
    let copy = services
        .iter()
        .filter(|s| s.name == name)
        .flat_map(|s| &s.clusters)
        .find(|c| c.cluster == cluster && !c.backends.is_empty())?;
    Some(copy.backends.iter().all(|b| b.ready))
}

impl FakeAgent {
    /// Registers `node` of `cluster`, opens its probe stream, and returns once the
    /// apiserver exports the node as registered (so RunProbes can pick it). Probes of
    /// `namespace/name` go to `faulted` while `cluster` sees its backends healthy.
    pub async fn start(
        cluster: &TestCluster,
        node: &str,
        faulted: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        let data = DataDir::open(&cluster.data_dir).expect("data dir");
        let ca = ClusterCa::from_pem(data.ca_pem(), &data.ca().key_pem()).expect("CA");
        let mut mesh =
            pb::mesh_client::MeshClient::new(channel(cluster, &ca, Role::Agent, node).await);
        let admin =
            pb::admin_client::AdminClient::new(channel(cluster, &ca, Role::Admin, "admin").await);
        let lease = mesh
            .register_node(pb::RegisterNodeRequest {
                node_name: node.to_owned(),
                wireguard: Some(pb::WireGuard {
                    public_key: vec![7; 32],
                    listen_port: 51820,
                    endpoint: String::new(),
                }),
            })
            .await
            .expect("registered")
            .into_inner();
        let mut tasks = JoinSet::new();
        tasks.spawn(heartbeat(mesh.clone(), node.to_owned(), lease));

        let serving: Serving = Arc::new(Mutex::new(faulted.to_owned()));
        tasks.spawn(follow(
            admin.clone(),
            serving.clone(),
            faulted.to_owned(),
            cluster.name.clone(),
            (namespace.to_owned(), name.to_owned()),
        ));

        let (reports, outbound) = mpsc::channel(64);
        // Once this answers, the apiserver has attached the stream.
        let assignments = mesh
            .probes(ReceiverStream::new(outbound))
            .await
            .expect("probe stream")
            .into_inner();
        tasks.spawn(answer(assignments, reports, serving));

        let own = cluster.name.clone();
        eventually(
            Duration::from_secs(30),
            "the fake agent's node registered",
            || {
                let mut admin = admin.clone();
                let (node, own) = (node.to_owned(), own.clone());
                async move {
                    let status = admin.get_status(pb::GetStatusRequest {}).await.ok()?;
                    let status = status.into_inner();
                    let ours = status.cluster.is_some_and(|c| c.name == own);
                    (ours && status.nodes.iter().any(|n| n.name == node && n.registered))
                        .then_some(())
                }
            },
        )
        .await;
        Self {
            node: node.to_owned(),
            tasks,
        }
    }

    /// The agent goes away: its probe stream and its heartbeats stop.
    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

async fn heartbeat(
    mut mesh: pb::mesh_client::MeshClient<Channel>,
    node: String,
    lease: pb::RegisterNodeResponse,
) {
    let every = Duration::from_millis(lease.heartbeat_interval_ms.max(100));
    loop {
        tokio::time::sleep(every).await;
        let _ = mesh
            .heartbeat(pb::HeartbeatRequest {
                node_name: node.clone(),
                lease_id: lease.lease_id,
                tunnels: None,
            })
            .await;
    }
}

/// Polls the merged view: `faulted` serves while its copy is reachable with a ready
/// backend, else `own` does.
async fn follow(
    mut admin: pb::admin_client::AdminClient<Channel>,
    serving: Serving,
    faulted: String,
    own: String,
    (namespace, name): (String, String),
) {
    loop {
        let request = pb::ListGlobalServicesRequest {
            namespace: namespace.clone(),
        };
        if let Ok(answer) = admin.list_global_services(request).await {
            let healthy = answer.into_inner().services.iter().any(|s| {
                s.name == name
                    && s.clusters.iter().any(|c| {
                        c.cluster == faulted && c.reachable && c.backends.iter().any(|b| b.ready)
                    })
            });
            let now = if healthy { &faulted } else { &own };
            *serving.lock().expect("lock") = now.clone();
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Runs each assignment in its own task; a cancel stops it.
async fn answer(
    mut assignments: tonic::Streaming<pb::ProbeAssignment>,
    reports: mpsc::Sender<pb::ProbeReport>,
    serving: Serving,
) {
    let mut runs = JoinSet::new();
    let mut handles = BTreeMap::new();
    while let Ok(Some(assignment)) = assignments.message().await {
        if assignment.cancel {
            if let Some(handle) = handles.remove(&assignment.run_id) {
                tokio::task::AbortHandle::abort(&handle);
            }
            continue;
        }
        let handle = runs.spawn(probe_run(
            assignment.clone(),
            reports.clone(),
            serving.clone(),
        ));
        handles.insert(assignment.run_id, handle);
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

async fn probe_run(
    assignment: pb::ProbeAssignment,
    reports: mpsc::Sender<pb::ProbeReport>,
    serving: Serving,
) {
    let period = Duration::from_secs(1) / assignment.rate_per_second.max(1);
    let end = tokio::time::Instant::now() + Duration::from_millis(assignment.duration_ms);
    let mut next_probe = tokio::time::interval(period);
    let mut flush = tokio::time::interval(REPORT_EVERY);
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let mut results = Vec::new();
    let mut seq = 0;
    let report = |results, counters: &BTreeMap<String, u64>, done| pb::ProbeReport {
        run_id: assignment.run_id,
        node: String::new(),
        results,
        samples: vec![pb::BackendSample {
            at_unix_ms: now_ms(),
            connections_per_cluster: counters.clone().into_iter().collect(),
        }],
        done,
        error: String::new(),
    };
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(end) => break,
            _ = next_probe.tick() => {
                let cluster = serving.lock().expect("lock").clone();
                *counters.entry(cluster).or_default() += 1;
                results.push(pb::ProbeResult {
                    seq,
                    started_unix_ms: now_ms(),
                    latency_us: 100,
                    ok: true,
                    error: String::new(),
                });
                seq += 1;
            }
            _ = flush.tick() => {
                let batch = std::mem::take(&mut results);
                if reports.send(report(batch, &counters, false)).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = reports.send(report(results, &counters, true)).await;
}
