use crate::error::{ValidationError, ValidationErrorKind, shown};

use super::newtype::validated_string;

/// Longest cluster name. Names end up in certificate names, store keys and interface
/// names, so they are kept short.
pub const CLUSTER_NAME_MAX_LEN: usize = 32;

/// The pattern a cluster name must match, as quoted in error messages.
pub const CLUSTER_NAME_PATTERN: &str = "^([a-z0-9][-a-z0-9]*)?[a-z0-9]$";

validated_string!(
    /// A cluster's name: at most 32 characters matching [`CLUSTER_NAME_PATTERN`], and
    /// not `default`, which is too easily left unchanged in every cluster.
    ClusterName,
    validate
);

fn validate(value: &str) -> Result<(), ValidationError> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > CLUSTER_NAME_MAX_LEN {
        "must be at most 32 characters"
    } else if !is_dns_label_like(value) {
        "must match ^([a-z0-9][-a-z0-9]*)?[a-z0-9]$"
    } else if value == "default" {
        "\"default\" is reserved; pick a name unique in the mesh"
    } else {
        return Ok(());
    };
    Err(ValidationErrorKind::ClusterName {
        value: shown(value),
        reason,
    }
    .into())
}

/// `^([a-z0-9][-a-z0-9]*)?[a-z0-9]$` for a non-empty string, without a regex engine.
pub(crate) fn is_dns_label_like(value: &str) -> bool {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
