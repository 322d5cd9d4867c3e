//! Checks that a certificate on disk is one this cluster's CA issued for a role.

use std::path::Path;

use clustermesh_proto::{
    ClusterName,
    tls::{PeerIdentity, Role},
};
use x509_parser::pem::parse_x509_pem;

use super::{CA_CERT_FILE, DataDirError};

/// `cert_pem` (read from `path`) is signed by `ca_pem`, valid now, and names `role`
/// issued by `cluster`.
pub(super) fn issued_by(
    path: &Path,
    cert_pem: &str,
    ca_pem: &str,
    cluster: &ClusterName,
    role: Role,
) -> Result<(), DataDirError> {
    let invalid = |reason: String| DataDirError::invalid(path, reason);
    let (_, pem) =
        parse_x509_pem(cert_pem.as_bytes()).map_err(|e| invalid(format!("not PEM: {e}")))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| invalid(format!("not an X.509 certificate: {e}")))?;
    // The CA PEM was already loaded successfully; a failure here is still an error,
    // never a panic.
    let (_, ca_pem) = parse_x509_pem(ca_pem.as_bytes())
        .map_err(|e| invalid(format!("{CA_CERT_FILE} is not PEM: {e}")))?;
    let ca = ca_pem
        .parse_x509()
        .map_err(|e| invalid(format!("{CA_CERT_FILE} is not an X.509 certificate: {e}")))?;
    cert.verify_signature(Some(ca.public_key())).map_err(|_| {
        invalid(format!(
            "not issued by the CA of cluster {cluster} in {CA_CERT_FILE}"
        ))
    })?;
    let validity = cert.validity();
    if !validity.is_valid() {
        return Err(invalid(format!(
            "not valid now: valid from {} until {}",
            validity.not_before, validity.not_after
        )));
    }
    let identity = PeerIdentity::from_der(&pem.contents).map_err(|e| invalid(e.to_string()))?;
    if identity.role != role || identity.issuer_cluster != *cluster {
        return Err(invalid(format!(
            "holds the identity {identity}, but a {role} certificate of cluster {cluster} is expected"
        )));
    }
    Ok(())
}
