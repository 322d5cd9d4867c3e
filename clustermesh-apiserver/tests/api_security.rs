//! What each role may not do, what a foreign CA gets, and how bad input is refused
//! while the last good export stays.

mod support;

use std::time::Duration;

use clustermesh_proto::{
    ClusterName, RecordKind, SyncedKey, WatchEvent, pb,
    tls::{ClusterCa, Role},
};
use support::{TestCluster, connect, manifests, one_way, within};
use tonic::Code;

const WAIT: Duration = Duration::from_secs(30);

async fn pair() -> (TestCluster, TestCluster) {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    a.wait_synced().await;
    b.wait_synced().await;
    (a, b)
}

fn expect_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: Code, needle: &str) {
    let status = result.expect_err("must be refused");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "{needle:?} not in {:?}",
        status.message()
    );
}

#[tokio::test]
async fn an_agent_cannot_call_admin() {
    let (a, _b) = pair().await;
    let cert = a.issue(Role::Agent, "a-node1");
    let mut admin =
        pb::admin_client::AdminClient::new(a.channel_as(&cert).await.expect("connects"));
    expect_code(
        admin.get_status(pb::GetStatusRequest {}).await,
        Code::PermissionDenied,
        "role agent",
    );
    expect_code(
        admin.sign_peer_csr(pb::SignPeerCsrRequest::default()).await,
        Code::PermissionDenied,
        "allowed roles: admin",
    );
}

#[tokio::test]
async fn an_agent_registers_only_its_own_node() {
    let (a, _b) = pair().await;
    let mut agent = a.agent("a-node1").await;
    let wireguard = Some(pb::WireGuard {
        public_key: vec![1; 32],
        listen_port: 51820,
        endpoint: String::new(),
    });
    expect_code(
        agent
            .register_node(pb::RegisterNodeRequest {
                node_name: "a-node2".into(),
                wireguard: wireguard.clone(),
            })
            .await,
        Code::PermissionDenied,
        "may not act for node \"a-node2\"",
    );
    // Its own node, but a malformed key: the reason is named.
    expect_code(
        agent
            .register_node(pb::RegisterNodeRequest {
                node_name: "a-node1".into(),
                wireguard: Some(pb::WireGuard {
                    public_key: vec![1; 5],
                    ..wireguard.clone().expect("set")
                }),
            })
            .await,
        Code::InvalidArgument,
        "wireguard",
    );
    let lease = agent
        .register_node(pb::RegisterNodeRequest {
            node_name: "a-node1".into(),
            wireguard,
        })
        .await
        .expect("own node")
        .into_inner()
        .lease_id;
    // Another agent cannot keep that lease alive under its own name.
    let mut other = a.agent("a-node2").await;
    expect_code(
        other
            .heartbeat(pb::HeartbeatRequest {
                node_name: "a-node2".into(),
                lease_id: lease,
                tunnels: None,
            })
            .await,
        Code::NotFound,
        "register again",
    );
}

#[tokio::test]
async fn a_peer_cannot_register_nodes_or_see_other_peers_data() {
    let a = TestCluster::start("a", 1).await;
    let b = TestCluster::start("b", 2).await;
    let c = TestCluster::start("c", 3).await;
    for x in [&a, &b, &c] {
        x.wait_synced().await;
    }
    connect(&a, &b).await.expect("connect a b");
    connect(&b, &c).await.expect("connect b c");
    within(WAIT, "b imports c", || async {
        b.has_key(&SyncedKey::new(support::name("c"), RecordKind::Node).to_string())
            .await
    })
    .await;

    // A peer certificate b signed for a.
    let cert = b.peer_cert_for("a");
    let channel = b.channel_as(&cert).await.expect("connects");
    let mut mesh = pb::mesh_client::MeshClient::new(channel.clone());
    expect_code(
        mesh.register_node(pb::RegisterNodeRequest {
            node_name: "a".into(),
            wireguard: None,
        })
        .await,
        Code::PermissionDenied,
        "role peer",
    );
    expect_code(
        mesh.watch(pb::WatchRequest::default()).await,
        Code::PermissionDenied,
        "role peer",
    );

    // b's export stream carries b's records only, never c's that b imported.
    let mut peer = pb::peer_export_client::PeerExportClient::new(channel);
    let mut stream = peer
        .watch(pb::PeerWatchRequest::default())
        .await
        .expect("a is admitted")
        .into_inner();
    let mut clusters = std::collections::BTreeSet::new();
    loop {
        let message = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("in time")
            .expect("ok")
            .expect("open");
        match WatchEvent::try_from(message).expect("valid") {
            WatchEvent::Upsert { record, .. } => {
                clusters.insert(clustermesh_proto::Keyed::cluster(&record).to_string());
            }
            WatchEvent::Synced(marker) => {
                clusters.insert(marker.cluster.to_string());
            }
            WatchEvent::SnapshotEnd { .. } => break,
            _ => {}
        }
    }
    assert_eq!(clusters.into_iter().collect::<Vec<_>>(), ["b"]);
}

#[tokio::test]
async fn a_removed_peer_is_no_longer_admitted() {
    let (a, b) = pair().await;
    connect(&a, &b).await.expect("connect");
    within(WAIT, "b imports a", || async {
        !b.records_of("a").await.is_empty()
    })
    .await;

    // An export stream a has open on b: removal must cut it, not just refuse new ones.
    let open_cert = b.peer_cert_for("a");
    let mut open_peer = pb::peer_export_client::PeerExportClient::new(
        b.channel_as(&open_cert).await.expect("tls ok"),
    );
    let mut open_stream = open_peer
        .watch(pb::PeerWatchRequest::default())
        .await
        .expect("admitted")
        .into_inner();

    let mut admin_b = b.admin().await;
    admin_b
        .remove_peer(pb::RemovePeerRequest {
            peer_cluster: "a".into(),
        })
        .await
        .expect("remove a from b");
    within(WAIT, "b dropped a's records", || async {
        b.records_of("a").await.is_empty()
    })
    .await;
    let cut = tokio::time::timeout(WAIT, async {
        loop {
            match open_stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(
        cut.is_ok(),
        "the open export stream was not cut by the removal"
    );
    expect_code(
        admin_b
            .remove_peer(pb::RemovePeerRequest {
                peer_cluster: "a".into(),
            })
            .await,
        Code::NotFound,
        "no peer named a",
    );

    // a still holds the certificate b signed, but b no longer admits it.
    let cert = b.peer_cert_for("a");
    let mut peer =
        pb::peer_export_client::PeerExportClient::new(b.channel_as(&cert).await.expect("tls ok"));
    expect_code(
        peer.watch(pb::PeerWatchRequest::default()).await,
        Code::PermissionDenied,
        "not connected",
    );
}

#[tokio::test]
async fn a_certificate_from_a_foreign_ca_is_refused() {
    let (a, _b) = pair().await;
    let foreign = ClusterCa::generate(&ClusterName::new("a").expect("name")).expect("CA");
    let cert = foreign
        .issue(Role::Admin, "admin", &[], support::VALIDITY)
        .expect("cert");
    // The handshake itself fails, or the first call does: either way nothing is served.
    let refused = match a.channel_as(&cert).await {
        Err(_) => true,
        Ok(channel) => pb::admin_client::AdminClient::new(channel)
            .get_status(pb::GetStatusRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a foreign CA's certificate was served");
}

#[tokio::test]
async fn conflicting_peers_are_refused_naming_the_clash() {
    let a = TestCluster::start("a", 1).await;
    let same_id = TestCluster::start("x", 1).await;
    a.wait_synced().await;
    same_id.wait_synced().await;
    let mut admin_a = a.admin().await;
    let mut admin_x = same_id.admin().await;
    expect_code(
        one_way(&mut admin_a, &mut admin_x).await,
        Code::FailedPrecondition,
        "cluster id 1, which is this cluster's own id",
    );

    // Same pod CIDR as a, different id.
    let overlap = TestCluster::start_with_ranges("y", 4, 1).await;
    overlap.wait_synced().await;
    let mut admin_y = overlap.admin().await;
    expect_code(
        one_way(&mut admin_a, &mut admin_y).await,
        Code::FailedPrecondition,
        "pod CIDR 10.1.0.0/24 of peer y overlaps 10.1.0.0/24 of this cluster a",
    );
    assert!(a.records_of("y").await.is_empty());
}

#[tokio::test]
async fn bad_manifests_and_unknown_annotations_are_reported_and_the_last_good_export_stays() {
    let (a, b) = pair().await;
    connect(&a, &b).await.expect("connect");
    within(WAIT, "b imports a's service", || {
        b.has_key("a/services/demo/web")
    })
    .await;

    // A typo in the file: the service stays exported, and status names file and line.
    a.write_manifest(
        "cluster.yaml",
        &format!(
            "{}---\nkind: Service\n  bad: [indent\n",
            manifests::cluster("a", 1, true)
        ),
    );
    let mut admin = a.admin().await;
    within(WAIT, "status reports the parse error", || {
        let mut admin = admin.clone();
        async move {
            let status = admin
                .get_status(pb::GetStatusRequest {})
                .await
                .expect("status")
                .into_inner();
            status
                .warnings
                .iter()
                .any(|w| w.contains("cluster.yaml:") && w.starts_with("source:"))
        }
    })
    .await;
    assert!(
        a.has_key("a/services/demo/web").await,
        "last good export stays"
    );
    assert!(
        b.has_key("a/services/demo/web").await,
        "and so does the peer's copy"
    );

    // An unknown affinity: a warning naming the value, and the service still exported.
    let annotated = [
        manifests::node("a", 1),
        manifests::pod("a", 1),
        manifests::service(1, "    clustermesh.io/affinity: nearest\n"),
        manifests::slice("a", 1, true),
    ]
    .join("---\n");
    a.write_manifest("cluster.yaml", &annotated);
    within(WAIT, "status warns of the affinity", || {
        let mut admin = admin.clone();
        async move {
            let status = admin
                .get_status(pb::GetStatusRequest {})
                .await
                .expect("status")
                .into_inner();
            status.warnings.iter().any(|w| w.contains("nearest"))
                && !status.warnings.iter().any(|w| w.starts_with("source:"))
        }
    })
    .await;
    let services = admin
        .list_global_services(pb::ListGlobalServicesRequest::default())
        .await
        .expect("list")
        .into_inner()
        .services;
    assert_eq!(services.len(), 1);
    assert_eq!(
        services[0].affinity,
        i32::from(pb::Affinity::None),
        "falls back to none"
    );
}

#[tokio::test]
async fn oversized_and_malformed_admin_requests_are_refused() {
    let (a, _b) = pair().await;
    let mut admin = a.admin().await;
    expect_code(
        admin
            .sign_peer_csr(pb::SignPeerCsrRequest {
                peer_cluster: "b".into(),
                csr_pem: vec![b'x'; 2 * 1024 * 1024],
            })
            .await,
        Code::OutOfRange,
        "",
    );
    expect_code(
        admin
            .sign_peer_csr(pb::SignPeerCsrRequest {
                peer_cluster: "b".into(),
                csr_pem: b"not a csr".to_vec(),
            })
            .await,
        Code::InvalidArgument,
        "CSR of peer b",
    );
    expect_code(
        admin.install_peer(pb::InstallPeerRequest::default()).await,
        Code::InvalidArgument,
        "peer: missing",
    );
    expect_code(
        admin
            .create_peer_csr(pb::CreatePeerCsrRequest {
                peer_cluster: "Not_A_Name".into(),
            })
            .await,
        Code::InvalidArgument,
        "peer cluster name",
    );
}
