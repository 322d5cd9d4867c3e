//! Validation errors that say which field was wrong and what it held.

use std::fmt;

/// Why a value was refused, and where in the record it was.
///
/// Displays as `<path>: <kind>`, e.g.
/// `node "n1": pod_cidrs[1]: CIDR "10.1.0.5/16" has host bits set (did you mean 10.1.0.0/16?)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Outermost segment first.
    path: Vec<String>,
    kind: ValidationErrorKind,
}

/// What was wrong with a single value. Values are quoted as received, shortened when
/// long, since they come from untrusted input and end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    #[error("invalid cluster name {value:?}: {reason}")]
    ClusterName { value: String, reason: &'static str },
    #[error("cluster id {0} out of range 1..=255")]
    ClusterId(u32),
    #[error("invalid {what} {value:?}: expected a decimal number")]
    Number { what: &'static str, value: String },
    #[error("invalid identity id {value}: {reason}")]
    IdentityId { value: u32, reason: String },
    #[error("invalid CIDR {value:?}: {reason}")]
    Cidr { value: String, reason: String },
    #[error("CIDR {value:?} has host bits set (did you mean {canonical}?)")]
    CidrHostBits { value: String, canonical: String },
    #[error("CIDR {cidr} overlaps {other} at {other_path}")]
    CidrOverlap {
        cidr: String,
        other: String,
        other_path: String,
    },
    #[error("invalid IP address {0:?}")]
    IpAddr(String),
    #[error("invalid socket address {0:?}: expected ip:port, with IPv6 in brackets")]
    SocketAddr(String),
    #[error("invalid address {value:?}: {reason}")]
    HostPort { value: String, reason: &'static str },
    #[error("port {0} out of range 1..=65535")]
    Port(u32),
    #[error("WireGuard public key must be 32 bytes, got {0}")]
    WireGuardKeyLength(usize),
    #[error("invalid WireGuard key {0:?}: expected 32 bytes in base64 (44 characters)")]
    WireGuardKeyBase64(String),
    /// A Kubernetes-style name: `what` is "DNS label", "DNS subdomain", "zone", ...
    #[error("invalid {what} {value:?}: {reason}")]
    Name {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("invalid label key {key:?}: {reason}")]
    LabelKey { key: String, reason: &'static str },
    #[error("invalid value {value:?} for label {key:?}: {reason}")]
    LabelValue {
        key: String,
        value: String,
        reason: &'static str,
    },
    /// An enum number this build does not know, e.g. from a newer peer.
    #[error("unknown {what} value {value}")]
    UnknownEnum { what: &'static str, value: i32 },
    /// A textual enum value (annotation, flag) that is not one of `expected`.
    #[error("unknown {what} {value:?}: expected {expected}")]
    UnknownValue {
        what: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{0} must be specified")]
    Unspecified(&'static str),
    #[error("missing {0}")]
    Missing(&'static str),
    /// Bytes that are not the protobuf encoding of a `what`.
    #[error("not an encoded {what}: {reason}")]
    Encoding { what: &'static str, reason: String },
    #[error("duplicate {what} {value:?}")]
    Duplicate { what: &'static str, value: String },
    #[error("every port must be named when there is more than one")]
    PortNameRequired,
    #[error("{0}")]
    Key(Box<crate::KeyError>),
}

impl ValidationError {
    pub fn kind(&self) -> &ValidationErrorKind {
        &self.kind
    }

    /// Field path, outermost first, e.g. `["node \"n1\"", "pod_cidrs[1]"]`.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// Prefixes the path with the enclosing field or record.
    #[must_use]
    pub fn at(mut self, segment: impl Into<String>) -> Self {
        self.path.insert(0, segment.into());
        self
    }
}

impl From<ValidationErrorKind> for ValidationError {
    fn from(kind: ValidationErrorKind) -> Self {
        Self {
            path: Vec::new(),
            kind,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.path {
            write!(f, "{segment}: ")?;
        }
        self.kind.fmt(f)
    }
}

// The kind is part of this error's message, not a cause behind it, so it is not
// reported as `source()`; reporters would otherwise print it twice.
impl std::error::Error for ValidationError {}

/// Adds path segments to errors in a `Result`; the closure form avoids formatting on
/// the success path.
pub(crate) trait ResultExt<T> {
    fn at(self, segment: &'static str) -> Result<T, ValidationError>;
    fn at_with(self, segment: impl FnOnce() -> String) -> Result<T, ValidationError>;
}

impl<T, E: Into<ValidationError>> ResultExt<T> for Result<T, E> {
    fn at(self, segment: &'static str) -> Result<T, ValidationError> {
        self.map_err(|e| e.into().at(segment))
    }

    fn at_with(self, segment: impl FnOnce() -> String) -> Result<T, ValidationError> {
        self.map_err(|e| e.into().at(segment()))
    }
}

const SHOWN_MAX_CHARS: usize = 256;

/// A copy of untrusted input fit for an error message: a 4 MiB "name" must not become
/// a 4 MiB log line.
pub(crate) fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_MAX_CHARS) {
        None => value.to_owned(),
        Some((end, _)) => format!("{}…", &value[..end]),
    }
}

#[cfg(test)]
mod tests;
