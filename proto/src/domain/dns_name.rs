use crate::error::{ValidationError, ValidationErrorKind, shown};

use super::{cluster_name::is_dns_label_like, newtype::validated_string};

const LABEL_MAX_LEN: usize = 63;
const SUBDOMAIN_MAX_LEN: usize = 253;

validated_string!(
    /// An RFC 1123 label as Kubernetes checks it: namespaces, service names, port names.
    DnsLabel,
    validate_label
);

validated_string!(
    /// An RFC 1123 subdomain as Kubernetes checks it: node and pod names. It cannot
    /// contain `/`, so it is safe as a store key segment.
    DnsSubdomain,
    validate_subdomain
);

fn validate_label(value: &str) -> Result<(), ValidationError> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > LABEL_MAX_LEN {
        "must be at most 63 characters"
    } else if !is_dns_label_like(value) {
        "must consist of lowercase letters, digits and '-', and start and end with a letter or digit"
    } else {
        return Ok(());
    };
    Err(invalid("DNS label", value, reason))
}

fn validate_subdomain(value: &str) -> Result<(), ValidationError> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > SUBDOMAIN_MAX_LEN {
        "must be at most 253 characters"
    } else if !value.split('.').all(is_dns_label_like) {
        "must be lowercase letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit"
    } else {
        return Ok(());
    };
    Err(invalid("DNS subdomain", value, reason))
}

fn invalid(what: &'static str, value: &str, reason: &'static str) -> ValidationError {
    ValidationErrorKind::Name {
        what,
        value: shown(value),
        reason,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for ok in ["a", "kube-system", "web-1", &"a".repeat(63)] {
            assert!(DnsLabel::new(ok).is_ok(), "{ok:?}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a/b", &"a".repeat(64)] {
            assert!(DnsLabel::new(bad).is_err(), "{bad:?}");
        }
        let err = DnsLabel::new("Web").expect_err("uppercase");
        assert!(
            err.to_string().starts_with("invalid DNS label \"Web\": "),
            "{err}"
        );
    }

    #[test]
    fn subdomains() {
        let long = format!("{}.{}", "a".repeat(126), "b".repeat(126));
        for ok in ["n1", "ip-10-0-0-1.ec2.internal", "a.b.c", long.as_str()] {
            assert!(DnsSubdomain::new(ok).is_ok(), "{ok:?}");
        }
        let too_long = format!("{long}xx");
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "a.-b",
            "A.b",
            "a/b",
            "a b",
            too_long.as_str(),
        ] {
            assert!(DnsSubdomain::new(bad).is_err(), "{bad:?}");
        }
    }
}
