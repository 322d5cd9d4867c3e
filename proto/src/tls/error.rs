//! Errors of the PKI helpers. Messages name the input that was wrong (which PEM, which
//! URI, which name) because operators see them when a file or flag is misconfigured.
//! Errors from rcgen, rustls and x509-parser are kept as text in the message rather
//! than as `source()`, like [`crate::ValidationError`], so reporters print them once.

/// A certificate, or a name destined for one, carries no valid clustermesh identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    #[error("certificate is not valid DER X.509: {0}")]
    Der(String),
    #[error("certificate has no clustermesh:// URI in its subject alternative names")]
    NoIdentity,
    #[error(
        "certificate has {0} clustermesh:// URIs in its subject alternative names; expected exactly one"
    )]
    MultipleIdentities(usize),
    #[error("unknown role {0:?}: expected agent, peer, admin or server")]
    UnknownRole(String),
    #[error("invalid identity URI {uri:?}: {reason}")]
    Uri { uri: String, reason: String },
    #[error("invalid {role} name {name:?}: {reason}")]
    Name {
        role: super::Role,
        name: String,
        reason: String,
    },
}

/// A PKI operation failed: bad PEM, a key that does not fit, or a refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// `what` names the input, e.g. "client certificate PEM".
    #[error("{what}: no {label} block found")]
    PemMissing { what: String, label: &'static str },
    #[error("{what}: malformed PEM: {reason}")]
    PemMalformed { what: String, reason: String },
    /// The PEM decoded but its content is unusable, e.g. a key that does not match
    /// its certificate or a CA certificate that is not a CA.
    #[error("{what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("invalid server name {name:?}: {reason}")]
    ServerName { name: String, reason: String },
    #[error("{role} certificates take no server names, got {names:?}")]
    UnexpectedServerNames {
        role: super::Role,
        names: Vec<String>,
    },
    #[error("validity {0:?} is out of range: must be at least one second and at most 100 years")]
    Validity(std::time::Duration),
    #[error("certificate signing request: {0}")]
    Csr(String),
    /// Key generation, signing or encoding failed inside rcgen.
    #[error("{what}: {reason}")]
    Crypto { what: String, reason: String },
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl TlsError {
    pub(crate) fn invalid(what: impl Into<String>, reason: impl ToString) -> Self {
        TlsError::Invalid {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn crypto(what: impl Into<String>, reason: impl ToString) -> Self {
        TlsError::Crypto {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Untrusted text (a peer's URI, a CSR field) shortened for an error message.
pub(crate) fn shown(value: &str) -> String {
    crate::error::shown(value)
}
