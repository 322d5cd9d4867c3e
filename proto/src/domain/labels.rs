//! Kubernetes label syntax, for identity labels and topology zones.

use std::collections::BTreeMap;

use crate::error::{ValidationError, ValidationErrorKind, shown};

use super::cluster_name::is_dns_label_like;

const NAME_MAX_LEN: usize = 63;
const PREFIX_MAX_LEN: usize = 253;

/// `[prefix/]name`: an optional DNS subdomain prefix and a name of at most 63
/// characters from `[-A-Za-z0-9_.]`, starting and ending alphanumeric.
pub fn validate_label_key(key: &str) -> Result<(), ValidationError> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let reason = match prefix {
        Some("") => "prefix must not be empty",
        Some(p) if p.len() > PREFIX_MAX_LEN || !p.split('.').all(is_dns_label_like) => {
            "prefix must be a DNS subdomain"
        }
        _ if name.is_empty() => "name must not be empty",
        _ if name.len() > NAME_MAX_LEN => "name must be at most 63 characters",
        _ if !is_label_name(name) => {
            "name must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        }
        _ => return Ok(()),
    };
    Err(ValidationErrorKind::LabelKey {
        key: shown(key),
        reason,
    }
    .into())
}

/// Empty, or at most 63 characters from `[-A-Za-z0-9_.]`, starting and ending
/// alphanumeric.
pub fn validate_label_value(key: &str, value: &str) -> Result<(), ValidationError> {
    match label_value_problem(value) {
        None => Ok(()),
        Some(reason) => Err(ValidationErrorKind::LabelValue {
            key: shown(key),
            value: shown(value),
            reason,
        }
        .into()),
    }
}

pub(crate) fn validate_labels(labels: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    for (key, value) in labels {
        validate_label_key(key)?;
        validate_label_value(key, value)?;
    }
    Ok(())
}

/// A zone is a label value; empty means unknown.
pub(crate) fn parse_zone(value: String) -> Result<Option<String>, ValidationError> {
    if value.is_empty() {
        return Ok(None);
    }
    match label_value_problem(&value) {
        None => Ok(Some(value)),
        Some(reason) => Err(ValidationErrorKind::Name {
            what: "zone",
            value: shown(&value),
            reason,
        }
        .into()),
    }
}

fn label_value_problem(value: &str) -> Option<&'static str> {
    if value.len() > NAME_MAX_LEN {
        Some("must be at most 63 characters")
    } else if !value.is_empty() && !is_label_name(value) {
        Some(
            "must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        )
    } else {
        None
    }
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
