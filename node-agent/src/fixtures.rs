//! Wire records for tests, turned into events through `TryFrom` exactly as the agent
//! receives them from `Mesh.Watch`, so a fixture the contract refuses fails loudly.

use clustermesh_proto::{ClusterName, WatchEvent, WireGuardKey, pb};
use pb::watch_response::Event;

use crate::view::MergedView;

pub(crate) const EPOCH: &str = "epoch-1";

pub(crate) fn key(n: u8) -> WireGuardKey {
    WireGuardKey::new([n; 32])
}

pub(crate) fn name(cluster: &str) -> ClusterName {
    ClusterName::new(cluster).expect("valid cluster name")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub(crate) fn cluster(name: &str, id: u32, pod_cidrs: &[&str]) -> pb::Cluster {
    pb::Cluster {
        name: name.into(),
        id,
        pod_cidrs: strings(pod_cidrs),
        advertise_address: format!("mesh.{name}.example:443"),
    }
}

/// A registered node: underlay `192.0.2.<key>`, WireGuard on 51820, no explicit
/// endpoint (so peers use the underlay address).
pub(crate) fn node(cluster: &str, name: &str, key: u8, pod_cidrs: &[&str]) -> pb::Node {
    pb::Node {
        cluster: cluster.into(),
        name: name.into(),
        underlay_addresses: vec![format!("192.0.2.{key}")],
        pod_cidrs: strings(pod_cidrs),
        zone: String::new(),
        wireguard: Some(pb::WireGuard {
            public_key: vec![key; 32],
            listen_port: 51820,
            endpoint: String::new(),
        }),
    }
}

/// `node` as exported once its agent's lease has expired.
pub(crate) fn lease_expired(mut node: pb::Node) -> pb::Node {
    node.wireguard = None;
    node
}

pub(crate) fn port(name: &str, port: u32) -> pb::ServicePort {
    pb::ServicePort {
        name: name.into(),
        port,
        protocol: pb::Protocol::Tcp.into(),
    }
}

pub(crate) fn backend_port(name: &str, port: u32) -> pb::BackendPort {
    pb::BackendPort {
        name: name.into(),
        port,
        protocol: pb::Protocol::Tcp.into(),
    }
}

/// `shop/web` with one port `http` 80/TCP, affinity none, shared, no backends.
pub(crate) fn service(cluster: &str, vip: &str) -> pb::GlobalService {
    pb::GlobalService {
        cluster: cluster.into(),
        namespace: "shop".into(),
        name: "web".into(),
        ports: vec![port("http", 80)],
        vip: vip.into(),
        affinity: pb::Affinity::None.into(),
        shared: true,
        backends: Vec::new(),
    }
}

/// A ready backend on `node` with port `http` 8080/TCP.
/// An endpoint of cluster b (identity 2:1, namespace `shop`).
pub(crate) fn endpoint(ip: &str, node: &str, pod: &str) -> pb::Endpoint {
    pb::Endpoint {
        cluster: "b".into(),
        ip: ip.into(),
        identity: 2 << 16 | 1,
        node: node.into(),
        namespace: "shop".into(),
        pod: pod.into(),
    }
}

pub(crate) fn backend(ip: &str, node: &str) -> pb::Backend {
    pb::Backend {
        ip: ip.into(),
        ports: vec![backend_port("http", 8080)],
        node: node.into(),
        zone: String::new(),
        ready: true,
        serving: true,
        terminating: false,
    }
}

pub(crate) trait IntoRecord {
    fn into_record(self) -> pb::Record;
}

macro_rules! into_record {
    ($($ty:ident => $variant:ident),*) => {$(
        impl IntoRecord for pb::$ty {
            fn into_record(self) -> pb::Record {
                pb::Record { record: Some(pb::record::Record::$variant(self)) }
            }
        }
    )*};
}

into_record!(Cluster => Cluster, Node => Node, Identity => Identity, Endpoint => Endpoint,
    GlobalService => GlobalService);

impl IntoRecord for pb::Record {
    fn into_record(self) -> pb::Record {
        self
    }
}

pub(crate) fn event(event: Event) -> WatchEvent {
    WatchEvent::try_from(pb::WatchResponse { event: Some(event) }).expect("valid event")
}

pub(crate) fn upsert(record: impl IntoRecord, revision: i64) -> WatchEvent {
    let record = clustermesh_proto::Record::try_from(record.into_record()).expect("valid record");
    event(Event::Upsert(pb::Upsert {
        record: record.encode(),
        revision,
    }))
}

pub(crate) fn delete(kind: pb::RecordKind, cluster: &str, key: &str, revision: i64) -> WatchEvent {
    event(Event::Delete(pb::Delete {
        kind: kind.into(),
        cluster: cluster.into(),
        key: key.into(),
        revision,
    }))
}

pub(crate) fn synced(cluster: &str, kind: pb::RecordKind, revision: i64) -> WatchEvent {
    let marker = pb::SyncedMarker {
        cluster: cluster.into(),
        kind: kind.into(),
        revision,
    };
    event(Event::Synced(pb::Synced {
        marker: Some(marker),
    }))
}

pub(crate) fn peer_state(cluster: &str, reachable: bool) -> WatchEvent {
    event(Event::PeerState(pb::PeerState {
        cluster: cluster.into(),
        reachable,
        last_heartbeat_unix_ms: 1_700_000_000_000,
    }))
}

pub(crate) fn begin(revision: i64) -> WatchEvent {
    event(Event::SnapshotBegin(pb::SnapshotBegin { revision }))
}

pub(crate) fn end(revision: i64, epoch: &str) -> WatchEvent {
    event(Event::SnapshotEnd(pb::SnapshotEnd {
        revision,
        epoch: epoch.into(),
    }))
}

pub(crate) fn bookmark(revision: i64) -> WatchEvent {
    event(Event::Bookmark(pb::Bookmark { revision }))
}

/// A complete snapshot at revision 100 of `records` (upserted at revisions 1, 2, …).
pub(crate) fn snapshot(records: Vec<pb::Record>) -> Vec<WatchEvent> {
    let upserts = records.into_iter().zip(1..).map(|(r, rev)| upsert(r, rev));
    std::iter::once(begin(100))
        .chain(upserts)
        .chain(std::iter::once(end(100, EPOCH)))
        .collect()
}

pub(crate) fn apply_all(view: &mut MergedView, events: impl IntoIterator<Item = WatchEvent>) {
    for event in events {
        view.apply(event).expect("event applies");
    }
}

/// A view holding exactly `records`, after one snapshot.
pub(crate) fn view_of(records: Vec<pb::Record>) -> MergedView {
    let mut view = MergedView::new();
    apply_all(&mut view, snapshot(records));
    view
}
