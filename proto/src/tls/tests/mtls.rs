//! Real tonic over mTLS on 127.0.0.1:0: the handshake and `authorize` together.

use std::{net::SocketAddr, time::Duration};

use tokio::{net::TcpListener, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{
    Code, Request, Response, Status,
    transport::{Channel, ClientTlsConfig, Endpoint, Server},
};

use super::{DAY, cluster};
use crate::{
    pb::{
        RaftPayload,
        raft_replication_client::RaftReplicationClient,
        raft_replication_server::{RaftReplication, RaftReplicationServer},
    },
    tls::{
        ClusterCa, IssuedCert, Role, apiserver_server_name, authorize, client_tls,
        install_crypto_provider, server_tls,
    },
};

/// Upper bound for one call, handshake included; only reached if something hangs.
const CALL_DEADLINE: Duration = Duration::from_secs(20);

/// `forward` admits admins and agents and echoes the caller's identity URI.
struct Echo;

#[tonic::async_trait]
impl RaftReplication for Echo {
    async fn append_entries(
        &self,
        _: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        Err(Status::unimplemented("append_entries"))
    }

    async fn vote(&self, _: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        Err(Status::unimplemented("vote"))
    }

    async fn install_snapshot(
        &self,
        _: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        Err(Status::unimplemented("install_snapshot"))
    }

    async fn forward(&self, req: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let identity = authorize(&req, &[Role::Admin, Role::Agent])?;
        Ok(Response::new(RaftPayload {
            data: identity.to_uri().into_bytes(),
        }))
    }
}

/// The server task; aborted when the test ends, pass or fail.
struct TestServer {
    addr: SocketAddr,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `Echo` for `ca`'s cluster. The listener is bound before this returns, so
/// clients can connect at once: the kernel queues them until the server accepts.
async fn serve(ca: &ClusterCa) -> TestServer {
    install_crypto_provider();
    let cert = ca
        .issue(Role::Server, "apiserver", &[], DAY)
        .expect("server cert");
    let tls = server_tls(&cert.cert_pem, &cert.key_pem, ca.cert_pem()).expect("server TLS");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let router = Server::builder()
        .tls_config(tls)
        .expect("tonic accepts the TLS config")
        .add_service(RaftReplicationServer::new(Echo));
    let incoming = TcpListenerStream::new(listener);
    TestServer {
        addr,
        task: tokio::spawn(router.serve_with_incoming(incoming)),
    }
}

/// Calls `forward` with `tls` and returns the echoed identity or the error.
async fn forward(server: &TestServer, tls: ClientTlsConfig) -> Result<String, Status> {
    let channel: Channel = Endpoint::from_shared(format!("https://{}", server.addr))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tonic accepts the client TLS config")
        .connect_lazy();
    let mut client = RaftReplicationClient::new(channel);
    let response = tokio::time::timeout(CALL_DEADLINE, client.forward(RaftPayload::default()))
        .await
        .expect("call finishes before the deadline")?;
    Ok(String::from_utf8(response.into_inner().data).expect("UTF-8 URI"))
}

fn client(ca: &ClusterCa, trusted: &ClusterCa, cert: &IssuedCert) -> ClientTlsConfig {
    client_tls(
        trusted.cert_pem(),
        &cert.cert_pem,
        &cert.key_pem,
        &apiserver_server_name(trusted.cluster()),
    )
    .unwrap_or_else(|e| panic!("client TLS for {}: {e}", ca.cluster()))
}

/// The call failed in TLS with the server's `alert`, not in a handler. With TLS 1.3
/// the client finishes its side of the handshake before the server checks the client
/// certificate, so the alert arrives on the first read and tonic reports it as a
/// transport error (code `Unknown`), with the alert in the source chain.
fn assert_refused_by_tls(status: &Status, alert: &str) {
    assert!(
        matches!(status.code(), Code::Unknown | Code::Unavailable),
        "{status:?}"
    );
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(status);
    while let Some(error) = source {
        chain.push_str(&format!("{error}; "));
        source = error.source();
    }
    assert!(chain.contains(alert), "expected TLS alert {alert}: {chain}");
}

#[tokio::test]
async fn agent_from_the_servers_ca_is_admitted_and_identified() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let server = serve(&ca).await;
    let agent = ca
        .issue(Role::Agent, "node-1", &[], DAY)
        .expect("agent cert");
    let echoed = forward(&server, client(&ca, &ca, &agent))
        .await
        .expect("admitted");
    assert_eq!(echoed, "clustermesh://east/agent/node-1");

    // A CSR-signed certificate is as good as an issued one.
    let (csr, key_pem) = crate::tls::create_csr(Role::Admin, "alice").expect("CSR");
    let cert_pem = ca.sign_csr(&csr, Role::Admin, "alice", DAY).expect("sign");
    let admin = IssuedCert { cert_pem, key_pem };
    let echoed = forward(&server, client(&ca, &ca, &admin))
        .await
        .expect("admitted");
    assert_eq!(echoed, "clustermesh://east/admin/alice");
}

#[tokio::test]
async fn peer_role_is_denied_naming_roles() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let server = serve(&ca).await;
    let peer = ca.issue(Role::Peer, "west", &[], DAY).expect("peer cert");
    let status = forward(&server, client(&ca, &ca, &peer))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let message = status.message();
    assert!(message.contains("role peer"), "{message}");
    assert!(message.contains("allowed roles: admin, agent"), "{message}");
}

#[tokio::test]
async fn certificate_from_a_foreign_ca_fails_the_handshake() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let foreign = ClusterCa::generate(&cluster("mallory")).expect("foreign CA");
    let server = serve(&ca).await;
    // Same role and name as a legitimate agent, but signed by the wrong CA.
    let forged = foreign
        .issue(Role::Agent, "node-1", &[], DAY)
        .expect("forged cert");
    let status = forward(&server, client(&foreign, &ca, &forged))
        .await
        .expect_err("handshake refused");
    assert_refused_by_tls(&status, "UnknownCA");
}

#[tokio::test]
async fn client_without_a_certificate_fails() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let server = serve(&ca).await;
    let anonymous = ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca.cert_pem()))
        .domain_name(apiserver_server_name(ca.cluster()));
    let status = forward(&server, anonymous).await.expect_err("refused");
    assert_refused_by_tls(&status, "CertificateRequired");
}

#[tokio::test]
async fn client_refuses_a_server_of_another_cluster() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let server = serve(&ca).await;
    let agent = ca
        .issue(Role::Agent, "node-1", &[], DAY)
        .expect("agent cert");
    // Right CA, but expecting west's apiserver: the server certificate lacks that name.
    let tls = client_tls(
        ca.cert_pem(),
        &agent.cert_pem,
        &agent.key_pem,
        &apiserver_server_name(&cluster("west")),
    )
    .expect("client TLS");
    let status = forward(&server, tls).await.expect_err("wrong server name");
    assert_refused_by_tls(&status, "NotValidForName");
}
