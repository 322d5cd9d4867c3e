//! tonic TLS configuration for clustermesh's mTLS. tonic only reads the PEM when the
//! server starts serving or the channel connects, and then says little more than "error
//! parsing TLS certificate"; so each builder first builds the equivalent rustls config
//! itself, purely to check the inputs and report a bad one by name at start-up.

use std::{sync::Arc, time::Duration};

use rustls::{
    ClientConfig, RootCertStore, ServerConfig, crypto::CryptoProvider, server::WebPkiClientVerifier,
};
use rustls_pki_types::ServerName;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use super::{TlsError, error::shown, pem};

/// Bounds the TLS handshake, so a client that connects and stalls does not hold a
/// connection slot of the apiserver for ever.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Server-side mTLS: serves `server_cert_pem` (chain, leaf first) and REQUIRES every
/// client to present a certificate that chains to `client_ca_pem`.
pub fn server_tls(
    server_cert_pem: &str,
    server_key_pem: &str,
    client_ca_pem: &str,
) -> Result<ServerTlsConfig, TlsError> {
    let chain = pem::certificates(server_cert_pem, "server certificate PEM")?;
    let key = pem::private_key(server_key_pem, "server key PEM")?;
    let roots = root_store(client_ca_pem, "client CA PEM")?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), ring())
        .build()
        .map_err(|e| TlsError::invalid("client CA PEM", e))?;
    ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::invalid("TLS protocol versions", e))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::invalid("server certificate and key PEM", e))?;

    Ok(ServerTlsConfig::new()
        .identity(Identity::from_pem(server_cert_pem, server_key_pem))
        .client_ca_root(Certificate::from_pem(client_ca_pem))
        .client_auth_optional(false)
        .timeout(HANDSHAKE_TIMEOUT))
}

/// Client-side mTLS: trusts only `ca_pem` for the server, checks the server's
/// certificate against `server_name` (see [`super::apiserver_server_name`]) whatever
/// address is dialled, and presents `cert_pem`/`key_pem`.
pub fn client_tls(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
    server_name: &str,
) -> Result<ClientTlsConfig, TlsError> {
    ServerName::try_from(server_name).map_err(|e| TlsError::ServerName {
        name: shown(server_name),
        reason: e.to_string(),
    })?;
    let roots = root_store(ca_pem, "server CA PEM")?;
    let chain = pem::certificates(cert_pem, "client certificate PEM")?;
    let key = pem::private_key(key_pem, "client key PEM")?;
    ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::invalid("TLS protocol versions", e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| TlsError::invalid("client certificate and key PEM", e))?;

    Ok(ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .identity(Identity::from_pem(cert_pem, key_pem))
        .domain_name(server_name)
        .timeout(HANDSHAKE_TIMEOUT))
}

/// A trust store of every certificate in `ca_pem`. Unlike tonic, which skips
/// certificates it cannot parse, any bad one is an error: a silently shorter trust
/// store shows up later as inexplicable handshake failures.
fn root_store(ca_pem: &str, what: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in pem::certificates(ca_pem, what)? {
        roots.add(cert).map_err(|e| TlsError::invalid(what, e))?;
    }
    Ok(roots)
}

fn ring() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
