//! The exporter against the memory store: what lands under the cluster's prefix, and
//! that later rounds write only differences.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;

use clustermesh_proto::{Cluster, Record, RecordKind, SyncedKey, pb};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{ExportStatus, Exporter, ExporterConfig, desired, writer::RoundWriter};
use crate::export::{ExportPlan, fixtures};
use crate::layout;
use crate::source::{ClusterObjects, SourceState};
use crate::store::{
    Event, Store,
    memory::{MemoryStore, MemoryStoreConfig},
};

fn cluster(pod_cidrs: &[&str]) -> Cluster {
    Cluster::try_from(pb::Cluster {
        name: fixtures::cluster().to_string(),
        id: 1,
        pod_cidrs: pod_cidrs.iter().map(|c| c.to_string()).collect(),
        advertise_address: "127.0.0.1:7443".into(),
    })
    .expect("valid cluster")
}

fn objects(with_service: bool) -> ClusterObjects {
    let mut objects = ClusterObjects::default();
    objects.nodes.insert(
        "n1".into(),
        fixtures::node(&[], &[("InternalIP", "192.0.2.1")], &["10.1.0.0/24"]),
    );
    objects.pods.insert(
        fixtures::key("prod", "web-1"),
        fixtures::pod(&[("app", "web")], &["10.1.0.5"]).into(),
    );
    if with_service {
        fixtures::with_service(
            &mut objects,
            fixtures::service(&[("clustermesh.io/global", "true")], "10.96.0.10"),
        );
        let endpoint = fixtures::endpoint("10.1.0.5", "n1", None);
        fixtures::with_slice(
            &mut objects,
            fixtures::slice("web-1", "IPv4", vec![endpoint]),
        );
    }
    objects
}

fn state(objects: ClusterObjects, generation: u64) -> SourceState {
    SourceState {
        objects: Arc::new(objects),
        errors: Vec::new(),
        generation,
    }
}

struct Running {
    store: Arc<dyn Store>,
    source: watch::Sender<SourceState>,
    status: watch::Receiver<ExportStatus>,
    shutdown: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn start(objects: ClusterObjects) -> Running {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
    let (source, rx) = watch::channel(state(objects, 1));
    let (exporter, status) = Exporter::new(store.clone(), ExporterConfig::new(cluster(&[])), rx);
    let shutdown = CancellationToken::new();
    tokio::spawn(exporter.run(shutdown.clone()));
    Running {
        store,
        source,
        status,
        shutdown,
    }
}

async fn wait(
    status: &mut watch::Receiver<ExportStatus>,
    what: &str,
    f: impl Fn(&ExportStatus) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| f(s)))
        .await
        .unwrap_or_else(|_| panic!("{what} within 10 s"))
        .expect("exporter alive");
}

async fn keys(store: &dyn Store, prefix: &str) -> Vec<String> {
    let list = store.list(prefix).await.expect("list");
    list.items.into_iter().map(|kv| kv.key).collect()
}

#[tokio::test]
async fn exports_every_kind_then_the_synced_markers() {
    let mut run = start(objects(true));
    wait(&mut run.status, "synced", |s| s.synced).await;
    let cluster = fixtures::cluster();
    for kind in RecordKind::ALL {
        let records = keys(
            run.store.as_ref(),
            &clustermesh_proto::kind_prefix(&cluster, kind),
        )
        .await;
        assert!(!records.is_empty(), "{kind}: nothing exported");
        let marker = SyncedKey::new(cluster.clone(), kind).to_string();
        let kv = run
            .store
            .get(&marker)
            .await
            .expect("get")
            .expect("marker written");
        let decoded = layout::decode_synced(&marker, &kv.value).expect("valid marker");
        assert!(decoded.revision > 0);
    }
    let status = run.status.borrow().clone();
    assert_eq!(status.counts.get(&RecordKind::GlobalService), Some(&1));
    assert_eq!(status.last_error, None);
}

#[tokio::test]
async fn later_rounds_write_only_what_changed() {
    let mut run = start(objects(true));
    wait(&mut run.status, "synced", |s| s.synced).await;
    let node_key = format!("{}/nodes/n1", fixtures::cluster());
    let node_before = run.store.get(&node_key).await.expect("get").expect("node");
    let service_key = format!("{}/services/prod/web", fixtures::cluster());
    assert!(run.store.get(&service_key).await.expect("get").is_some());

    run.source.send_replace(state(objects(false), 2));
    wait(&mut run.status, "second round", |s| {
        s.source_generation == 2
    })
    .await;
    assert!(
        run.store.get(&service_key).await.expect("get").is_none(),
        "service withdrawn"
    );
    let node_after = run.store.get(&node_key).await.expect("get").expect("node");
    assert_eq!(
        node_before.mod_revision, node_after.mod_revision,
        "unchanged node not rewritten"
    );
}

#[tokio::test]
async fn agent_registrations_add_wireguard_details_to_the_node() {
    let mut run = start(objects(false));
    wait(&mut run.status, "synced", |s| s.synced).await;
    let cluster = fixtures::cluster();
    let info = clustermesh_proto::WireGuardPeerInfo::try_from(pb::WireGuard {
        public_key: vec![3; 32],
        listen_port: 51820,
        endpoint: String::new(),
    })
    .expect("valid");
    let registration = layout::registration_key(&cluster, "n1");
    run.store
        .put(&registration, layout::encode_registration(&info), None)
        .await
        .expect("register");
    let node_key = format!("{cluster}/nodes/n1");
    let node_wireguard = |store: Arc<dyn Store>| {
        let key = node_key.clone();
        async move {
            let kv = store.get(&key).await.expect("get").expect("node");
            match layout::decode_record(&key, &kv.value).expect("record") {
                Record::Node(node) => node.wireguard,
                other => panic!("not a node: {other:?}"),
            }
        }
    };
    crate::store::testing::eventually("node carries the key", || {
        let store = run.store.clone();
        let f = node_wireguard;
        async move { f(store).await.is_some() }
    })
    .await;
    run.store.delete(&registration).await.expect("unregister");
    crate::store::testing::eventually("node loses the key", || {
        let store = run.store.clone();
        let f = node_wireguard;
        async move { f(store).await.is_none() }
    })
    .await;
}

#[test]
fn pod_cidrs_come_from_nodes_unless_declared() {
    let plan = ExportPlan {
        nodes: vec![],
        ..Default::default()
    };
    let declared = cluster(&["10.0.0.0/8"]);
    let (effective, _) = desired::build(&declared, &plan, &Default::default());
    assert_eq!(effective, declared);

    let mut warnings = Vec::new();
    let nodes = crate::export::nodes::export(&fixtures::cluster(), &objects(false), &mut warnings);
    let plan = ExportPlan {
        nodes,
        ..Default::default()
    };
    let (effective, desired) = desired::build(&cluster(&[]), &plan, &Default::default());
    let cidrs: Vec<String> = effective
        .pod_cidrs
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(cidrs, ["10.1.0.0/24"]);
    assert!(desired.contains_key(&format!(
        "{}/clusters/{}",
        fixtures::cluster(),
        fixtures::cluster()
    )));
}

#[tokio::test]
async fn against_a_listing_the_writer_puts_what_differs_and_deletes_the_rest() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
    for (key, value) in [("k1", "a"), ("k2", "b")] {
        store.put(key, value.into(), None).await.expect("seed");
    }
    let listed = store.list("k").await.expect("list");
    let unchanged = listed.items[0].mod_revision;
    let listed = (listed.items.into_iter())
        .map(|kv| (kv.key, kv.value))
        .collect();
    let mut writer = RoundWriter::against(store.clone(), listed);
    writer.put("k1".into(), "a".into()).await.expect("put");
    writer.put("k3".into(), "c".into()).await.expect("put");
    let written = writer.finish().await.expect("finish");
    assert_eq!(written.ops, 2, "one put and one delete: {written:?}");
    assert_eq!(keys(store.as_ref(), "k").await, ["k1", "k3"]);
    let k1 = store.get("k1").await.expect("get").expect("kept");
    assert_eq!(
        k1.mod_revision, unchanged,
        "an equal record is not written again"
    );
}

#[tokio::test]
async fn the_writer_writes_deletes_after_every_put() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(MemoryStoreConfig::default()));
    store.put("old", "x".into(), None).await.expect("seed");
    let mut watch = store.watch("", 0).await.expect("watch");
    let mut writer = RoundWriter::changes(store.clone());
    writer.delete("old".into());
    writer.put("new".into(), "y".into()).await.expect("put");
    let written = writer.finish().await.expect("finish");
    assert_eq!(written.batches, 2);
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let response = watch.next().await.expect("open").expect("events");
        seen.extend(response.events.iter().map(|e| match e {
            Event::Put(kv) => format!("put {}", kv.key),
            Event::Delete { key, .. } => format!("delete {key}"),
        }));
    }
    assert_eq!(seen, ["put old", "put new", "delete old"]);
}
