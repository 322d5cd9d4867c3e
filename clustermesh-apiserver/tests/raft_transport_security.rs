//! The raft replication port speaks only mTLS, and only to the cluster's own replicas.

use std::time::Duration;

use clustermesh_apiserver::store::testing::RaftCluster;
use clustermesh_proto::pb;
use clustermesh_proto::pb::raft_replication_client::RaftReplicationClient;
use clustermesh_proto::tls::{ClusterCa, Role, apiserver_server_name, client_tls};
use tonic::transport::Endpoint;

const DAY: Duration = Duration::from_secs(24 * 3600);

/// A raft `forward` call to replica 1 presenting `cert` issued by `issuer`.
async fn forward_as(
    cluster: &RaftCluster,
    issuer: &ClusterCa,
    role: Role,
    name: &str,
) -> Result<(), tonic::Status> {
    let addr = cluster.raft_addr(1).expect("replica 1");
    let cert = issuer.issue(role, name, &[], DAY).expect("certificate");
    let server_name = apiserver_server_name(&"store-test".parse().expect("name"));
    let tls = client_tls(
        cluster.ca().cert_pem(),
        &cert.cert_pem,
        &cert.key_pem,
        &server_name,
    )
    .expect("tls");
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls config")
        .connect_lazy();
    let mut client = RaftReplicationClient::new(channel);
    client
        .forward(pb::RaftPayload { data: vec![0xc0] })
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_clusters_replicas_may_speak_raft() {
    let cluster = RaftCluster::start(1, |_| {}).await.expect("replica");

    let denied = forward_as(&cluster, cluster.ca(), Role::Agent, "node-a")
        .await
        .expect_err("an agent certificate must not reach raft");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "{denied}");

    let foreign = ClusterCa::generate(&"elsewhere".parse().expect("name")).expect("CA");
    let refused = forward_as(&cluster, &foreign, Role::Server, "replica-9")
        .await
        .expect_err("a certificate from another cluster's CA must fail the handshake");
    assert_ne!(refused.code(), tonic::Code::Ok);

    // A replica certificate gets through authorization; the garbage payload is then
    // refused by name, which proves the call reached the handler.
    let admitted = forward_as(&cluster, cluster.ca(), Role::Server, "replica-2")
        .await
        .expect_err("garbage payload");
    assert_eq!(admitted.code(), tonic::Code::InvalidArgument, "{admitted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_is_refused() {
    let cluster = RaftCluster::start(1, |_| {}).await.expect("replica");
    let addr = cluster.raft_addr(1).expect("replica 1");
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    let result = RaftReplicationClient::new(channel)
        .forward(pb::RaftPayload { data: vec![] })
        .await;
    assert!(result.is_err(), "a plaintext call must fail: {result:?}");
}
