use super::*;

fn reason(value: &str) -> &'static str {
    match ClusterName::new(value)
        .expect_err("must be rejected")
        .kind()
    {
        ValidationErrorKind::ClusterName { reason, .. } => reason,
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn accepts_valid_names() {
    for name in ["a", "0", "c1", "aws-eu-1", "a-b-c", &"a".repeat(32)] {
        let parsed: ClusterName = name.parse().expect("valid name");
        assert_eq!(parsed.as_str(), name);
        assert_eq!(parsed.to_string(), name);
    }
}

#[test]
fn rejects_too_long() {
    assert_eq!(reason(&"a".repeat(33)), "must be at most 32 characters");
}

#[test]
fn rejects_default() {
    assert!(reason("default").contains("reserved"));
    assert!(ClusterName::new("default1").is_ok());
}

#[test]
fn rejects_bad_characters_and_dashes() {
    for bad in ["-a", "a-", "-", "Foo", "a_b", "a.b", "a b", "é", "a\n"] {
        assert_eq!(
            reason(bad),
            "must match ^([a-z0-9][-a-z0-9]*)?[a-z0-9]$",
            "{bad:?}"
        );
    }
}

#[test]
fn rejects_empty() {
    assert_eq!(reason(""), "must not be empty");
}

#[test]
fn message_names_value_and_pattern() {
    let err = ClusterName::new("Foo_1").expect_err("uppercase");
    assert_eq!(
        err.to_string(),
        "invalid cluster name \"Foo_1\": must match ^([a-z0-9][-a-z0-9]*)?[a-z0-9]$"
    );
}

#[test]
fn serde_validates() {
    let ok: ClusterName = serde_json::from_str("\"c1\"").expect("valid");
    assert_eq!(ok, "c1");
    assert_eq!(serde_json::to_string(&ok).expect("serializes"), "\"c1\"");
    let err = serde_json::from_str::<ClusterName>("\"Bad\"").expect_err("invalid");
    assert!(err.to_string().contains("invalid cluster name"), "{err}");
}
