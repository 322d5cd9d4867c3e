//! Why did the apiserver drop us? In TLS 1.3 the client finishes its handshake before
//! the server has checked the client certificate, so a rejected certificate reaches
//! tonic as an alert, or, when our first HTTP/2 bytes cross the server's close, as a
//! bare broken pipe. This probe repeats the handshake with the context's files and then
//! only listens: with nothing written, the server's verdict arrives intact.

use std::{sync::Arc, time::Duration};

use clustermesh_proto::{client_config::Context, tls};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use tokio::{io::AsyncReadExt, net::TcpStream};
use tokio_rustls::TlsConnector;

use crate::error::Cause;

/// How long to listen after the handshake. A server that accepted us speaks first (its
/// HTTP/2 settings); silence this long counts as accepted too.
pub const LISTEN: Duration = Duration::from_millis(500);

/// `Some(CertificateRejected)` when the apiserver refuses the context's certificate;
/// `None` when it accepts it or the probe cannot tell.
pub async fn certificate_rejection(context: &Context, timeout: Duration) -> Option<Cause> {
    let config = Arc::new(client_config(context)?);
    let name = ServerName::try_from(tls::apiserver_server_name(&context.cluster)).ok()?;
    let probe = async {
        let tcp = TcpStream::connect(context.server.to_string()).await.ok()?;
        let mut stream = match TlsConnector::from(config).connect(name, tcp).await {
            Ok(stream) => stream,
            Err(e) => return Some(Cause::CertificateRejected(e.to_string())),
        };
        let mut byte = [0u8; 1];
        match tokio::time::timeout(LISTEN, stream.read(&mut byte)).await {
            Ok(Err(e)) if e.to_string().contains("alert") => {
                Some(Cause::CertificateRejected(e.to_string()))
            }
            _ => None,
        }
    };
    tokio::time::timeout(timeout, probe).await.ok().flatten()
}

/// The same identity and trust as [`Context::client_tls`]; any file problem has been
/// reported by that already, so here it only ends the probe.
fn client_config(context: &Context) -> Option<ClientConfig> {
    let ca = std::fs::read(&context.certificate_authority).ok()?;
    let cert = std::fs::read(&context.client_certificate).ok()?;
    let key = std::fs::read(&context.client_key).ok()?;
    let mut roots = RootCertStore::empty();
    for root in CertificateDer::pem_slice_iter(&ca) {
        roots.add(root.ok()?).ok()?;
    }
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let key = PrivateKeyDer::from_pem_slice(&key).ok()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .ok()?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Some(config)
}
