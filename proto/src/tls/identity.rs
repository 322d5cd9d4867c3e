//! Who a certificate speaks for, encoded as one SAN URI
//! `clustermesh://<issuing-cluster>/<role>/<name>` (repeated in the CN for humans).
//! The URI is authoritative: the CN is only read by people and by tools like openssl.

use std::fmt;

use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

use super::{IdentityError, Role, error::shown};
use crate::ClusterName;

/// The scheme prefix of identity URIs; other URIs in a certificate are ignored.
pub const IDENTITY_URI_PREFIX: &str = "clustermesh://";

/// Longest name in an identity: a DNS subdomain, which is what node names are.
pub const IDENTITY_NAME_MAX_LEN: usize = 253;

/// The authenticated identity of the other end of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    /// The cluster whose CA issued the certificate.
    pub issuer_cluster: ClusterName,
    pub role: Role,
    /// A node name for agents, the peer cluster's name for peers, a user name (or
    /// "admin") for admins, the apiserver's name for servers.
    pub name: String,
}

impl PeerIdentity {
    /// Builds an identity after checking `name` fits `role`.
    pub fn new(
        issuer_cluster: ClusterName,
        role: Role,
        name: impl Into<String>,
    ) -> Result<Self, IdentityError> {
        let name = name.into();
        validate_name(role, &name)?;
        Ok(Self {
            issuer_cluster,
            role,
            name,
        })
    }

    /// `clustermesh://<issuing-cluster>/<role>/<name>`.
    pub fn to_uri(&self) -> String {
        format!(
            "{IDENTITY_URI_PREFIX}{}/{}/{}",
            self.issuer_cluster, self.role, self.name
        )
    }

    /// Parses an identity URI, checking each segment as [`PeerIdentity::new`] does.
    pub fn from_uri(uri: &str) -> Result<Self, IdentityError> {
        let bad = |reason: String| IdentityError::Uri {
            uri: shown(uri),
            reason,
        };
        let rest = uri
            .strip_prefix(IDENTITY_URI_PREFIX)
            .ok_or_else(|| bad(format!("must start with {IDENTITY_URI_PREFIX}")))?;
        let mut segments = rest.split('/');
        let (Some(cluster), Some(role), Some(name), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(bad(
                "expected exactly three segments <issuing-cluster>/<role>/<name>".into(),
            ));
        };
        let cluster = ClusterName::new(cluster).map_err(|e| bad(e.to_string()))?;
        let role: Role = role
            .parse()
            .map_err(|e: IdentityError| bad(e.to_string()))?;
        Self::new(cluster, role, name).map_err(|e| bad(e.to_string()))
    }

    /// Reads the identity from a DER certificate. Exactly one `clustermesh://` SAN URI
    /// must be present: with two, which one counts would be a guess an attacker could
    /// exploit. Never panics, whatever the bytes.
    pub fn from_der(cert_der: &[u8]) -> Result<Self, IdentityError> {
        let cert = parse_certificate(cert_der)?;
        Self::from_uri(&single_identity_uri(&cert)?)
    }

    /// [`PeerIdentity::from_der`] of the first certificate in `cert_pem`.
    pub fn from_pem(cert_pem: &str) -> Result<Self, super::TlsError> {
        let der = super::pem::certificate(cert_pem, "certificate PEM")?;
        Self::from_der(&der).map_err(|e| super::TlsError::invalid("certificate PEM", e))
    }
}

impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

/// Parses a whole DER certificate; trailing bytes are refused rather than ignored.
pub(crate) fn parse_certificate(der: &[u8]) -> Result<X509Certificate<'_>, IdentityError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| IdentityError::Der(e.to_string()))?;
    if !rest.is_empty() {
        return Err(IdentityError::Der(format!(
            "{} trailing bytes after the certificate",
            rest.len()
        )));
    }
    Ok(cert)
}

/// The one `clustermesh://` URI among the certificate's subject alternative names.
pub(crate) fn single_identity_uri(cert: &X509Certificate<'_>) -> Result<String, IdentityError> {
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::Der(format!("subject alternative names: {e}")))?;
    let uris: Vec<&str> = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) if uri.starts_with(IDENTITY_URI_PREFIX) => Some(*uri),
            _ => None,
        })
        .collect();
    match uris.as_slice() {
        [] => Err(IdentityError::NoIdentity),
        [uri] => Ok((*uri).to_owned()),
        more => Err(IdentityError::MultipleIdentities(more.len())),
    }
}

/// Names become a URI path segment and a CN, so they are kept to characters that need
/// no escaping in either: ASCII letters, digits, `-`, `.` and `_`. Peer names must be
/// cluster names, since they name the peer cluster.
fn validate_name(role: Role, name: &str) -> Result<(), IdentityError> {
    let refuse = |reason: String| {
        Err(IdentityError::Name {
            role,
            name: shown(name),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("must not be empty".into());
    }
    if name.len() > IDENTITY_NAME_MAX_LEN {
        return refuse(format!(
            "must be at most {IDENTITY_NAME_MAX_LEN} characters"
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if !name.chars().all(allowed) {
        return refuse("may only contain ASCII letters, digits, '-', '.' and '_'".into());
    }
    if role == Role::Peer
        && let Err(e) = ClusterName::new(name)
    {
        return refuse(format!("a peer is named by its cluster name: {e}"));
    }
    Ok(())
}
