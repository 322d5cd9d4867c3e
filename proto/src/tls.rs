//! Shared mTLS identity and PKI helpers.
//!
//! Every cluster has its own CA ([`ClusterCa`]). Each certificate it issues names one
//! [`PeerIdentity`]: the issuing cluster, a [`Role`] and a name, encoded as the SAN URI
//! `clustermesh://<issuing-cluster>/<role>/<name>`. All gRPC is mutual TLS with
//! rustls's ring provider ([`server_tls`], [`client_tls`]); handlers call
//! [`authorize`] with the roles a method allows. Peers join through CSRs
//! ([`create_csr`], [`ClusterCa::sign_csr`]), so private keys never cross the wire.

mod authorize;
mod ca;
mod config;
mod csr;
mod error;
mod identity;
mod params;
mod pem;
mod role;

pub use self::{
    authorize::authorize,
    ca::{CA_VALIDITY, ClusterCa, IssuedCert},
    config::{HANDSHAKE_TIMEOUT, client_tls, server_tls},
    csr::create_csr,
    error::{IdentityError, TlsError},
    identity::{IDENTITY_NAME_MAX_LEN, IDENTITY_URI_PREFIX, PeerIdentity},
    role::Role,
};

use crate::ClusterName;

/// The name clients check an apiserver's certificate against, whatever address they
/// dial: `apiserver.<cluster>.clustermesh`. Every server certificate carries it.
pub fn apiserver_server_name(cluster: &ClusterName) -> String {
    format!("apiserver.{cluster}.clustermesh")
}

/// Installs rustls's ring provider as the process default, for binaries to call at
/// start-up. Idempotent: if a provider is already installed (by an earlier call, or by
/// a library) that one stays, since rustls allows only one per process.
pub fn install_crypto_provider() {
    // The error only says a default already exists, which is the idempotent case.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests;
