//! The CSR flow of `connect`: the requester keeps its private key and sends only a
//! CSR; the CA signs the public key in it. Everything else in the CSR (subject, SANs,
//! extensions) is ignored, so a CSR cannot choose its own role or name.

use std::time::Duration;

use rcgen::{CertificateParams, KeyPair, PublicKeyData, SubjectPublicKeyInfo};
use x509_parser::{certification_request::X509CertificationRequest, prelude::FromDer};

use super::{ClusterCa, PeerIdentity, Role, TlsError, params::KEY_ALG, pem};
use crate::ClusterName;

/// A CSR for `role`/`name` with a new ECDSA P-256 key; returns `(csr_pem, key_pem)`.
/// The subject is informational (`<role>/<name>`): the signer decides the identity.
pub fn create_csr(role: Role, name: &str) -> Result<(String, String), TlsError> {
    // Checked here too, so a bad name is reported to the requester before any round
    // trip. The placeholder cluster only satisfies the type; it is not in the CSR.
    let placeholder = ClusterName::new("csr").map_err(|e| TlsError::invalid("cluster", e))?;
    PeerIdentity::new(placeholder, role, name)?;

    let key = KeyPair::generate_for(KEY_ALG)
        .map_err(|e| TlsError::crypto(format!("generating a key for {role} {name:?}"), e))?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{role}/{name}"));
    let csr_pem = params
        .serialize_request(&key)
        .and_then(|csr| csr.pem())
        .map_err(|e| TlsError::crypto(format!("creating the CSR for {role} {name:?}"), e))?;
    Ok((csr_pem, key.serialize_pem()))
}

/// Signature algorithms accepted for requesters' keys: those every clustermesh peer
/// supports, and none with key sizes a requester could choose weak.
static ACCEPTED_KEY_ALGS: &[&rcgen::SignatureAlgorithm] = &[
    &rcgen::PKCS_ECDSA_P256_SHA256,
    &rcgen::PKCS_ECDSA_P384_SHA384,
    &rcgen::PKCS_ED25519,
];

impl ClusterCa {
    /// Signs the public key of `csr_pem` into a certificate for `role`/`name` chosen by
    /// the caller (who has authenticated the requester by other means). The CSR's own
    /// signature must verify, proving the requester holds the private key.
    pub fn sign_csr(
        &self,
        csr_pem: &str,
        role: Role,
        name: &str,
        validity: Duration,
    ) -> Result<String, TlsError> {
        let public_key = csr_public_key(csr_pem)?;
        self.sign_leaf(role, name, &[], validity, &public_key)
    }
}

/// The verified public key of a CSR, and nothing else from it.
fn csr_public_key(csr_pem: &str) -> Result<SubjectPublicKeyInfo, TlsError> {
    let der = pem::csr(csr_pem)?;
    let (rest, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|e| TlsError::Csr(format!("not a valid DER CSR: {e}")))?;
    if !rest.is_empty() {
        return Err(TlsError::Csr(format!(
            "{} trailing bytes after the CSR",
            rest.len()
        )));
    }
    csr.verify_signature()
        .map_err(|e| TlsError::Csr(format!("signature does not verify: {e}")))?;
    let spki = SubjectPublicKeyInfo::from_der(csr.certification_request_info.subject_pki.raw)
        .map_err(|e| TlsError::Csr(format!("unsupported public key: {e}")))?;
    if !ACCEPTED_KEY_ALGS.contains(&spki.algorithm()) {
        return Err(TlsError::Csr(
            "unsupported public key: expected ECDSA P-256, P-384 or Ed25519".into(),
        ));
    }
    Ok(spki)
}
