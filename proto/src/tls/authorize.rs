//! Per-method authorization from the client certificate tonic verified.

use tonic::{Request, Status};

use super::{PeerIdentity, Role};

/// The caller's identity, if its role is in `allowed`.
///
/// The TLS layer has already checked that the certificate chains to this server's
/// client CA; this reads who it names. No certificate (a plaintext or non-mTLS
/// connection) or one without a clustermesh identity is `Unauthenticated`; a role not
/// in `allowed` is `PermissionDenied`, naming the role and the allowed ones.
pub fn authorize<T>(request: &Request<T>, allowed: &[Role]) -> Result<PeerIdentity, Status> {
    let certs = request.peer_certs().ok_or_else(|| {
        Status::unauthenticated("no client certificate: clustermesh requires mutual TLS")
    })?;
    let leaf = certs.first().ok_or_else(|| {
        Status::unauthenticated("no client certificate: clustermesh requires mutual TLS")
    })?;
    let identity = PeerIdentity::from_der(leaf).map_err(|e| {
        Status::unauthenticated(format!(
            "client certificate carries no usable clustermesh identity: {e}"
        ))
    })?;
    if !allowed.contains(&identity.role) {
        let allowed: Vec<&str> = allowed.iter().map(|role| role.as_str()).collect();
        return Err(Status::permission_denied(format!(
            "role {} ({identity}) may not call this method; allowed roles: {}",
            identity.role,
            if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            }
        )));
    }
    Ok(identity)
}
