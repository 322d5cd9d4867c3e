//! Tests of the PKI helpers. Keys are generated per test: P-256 generation is fast,
//! and shared keys would couple tests.

mod authorize;
mod ca;
mod config;
mod csr;
mod identity;
mod mtls;

use std::time::Duration;

use crate::ClusterName;

pub(super) const DAY: Duration = Duration::from_secs(24 * 60 * 60);

pub(super) fn cluster(name: &str) -> ClusterName {
    ClusterName::new(name).expect("test cluster names are valid")
}

/// The DER of the first certificate in `pem`.
pub(super) fn der(pem: &str) -> Vec<u8> {
    super::pem::certificate(pem, "test certificate")
        .expect("test PEM holds a certificate")
        .to_vec()
}

/// A self-signed certificate with exactly the given URIs as SANs, for identity
/// decoding cases the CA would never issue.
pub(super) fn cert_with_uris(uris: &[&str]) -> Vec<u8> {
    let key = rcgen::KeyPair::generate().expect("key generation");
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = uris
        .iter()
        .map(|uri| rcgen::SanType::URI((*uri).try_into().expect("ASCII URI")))
        .collect();
    params
        .self_signed(&key)
        .expect("self-signing")
        .der()
        .to_vec()
}
