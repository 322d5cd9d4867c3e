use super::*;

#[test]
fn label_keys() {
    for ok in [
        "app",
        "App_1.x",
        "app.kubernetes.io/name",
        "k8s.io/a-b",
        &"a".repeat(63),
    ] {
        assert!(validate_label_key(ok).is_ok(), "{ok:?}");
    }
    let cases = [
        ("", "name must not be empty"),
        ("/app", "prefix must not be empty"),
        ("Example.com/app", "prefix must be a DNS subdomain"),
        (
            "a/b/c",
            "name must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        ),
        ("example.com/", "name must not be empty"),
        (
            "-app",
            "name must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
        ),
    ];
    for (key, want) in cases {
        match validate_label_key(key).expect_err(key).kind() {
            ValidationErrorKind::LabelKey { reason, .. } => assert_eq!(*reason, want, "{key:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(validate_label_key(&"a".repeat(64)).is_err());
}

#[test]
fn label_values() {
    for ok in ["", "v1", "a.b_c-d", &"x".repeat(63)] {
        assert!(validate_label_value("k", ok).is_ok(), "{ok:?}");
    }
    for bad in ["-v", "v-", "a b", "é", &"x".repeat(64)] {
        assert!(validate_label_value("k", bad).is_err(), "{bad:?}");
    }
    let err = validate_label_value("app", "a b").expect_err("space");
    assert!(
        err.to_string()
            .starts_with("invalid value \"a b\" for label \"app\""),
        "{err}"
    );
}

#[test]
fn label_maps() {
    let mut labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    assert!(validate_labels(&labels).is_ok());
    labels.insert(String::new(), "x".to_owned());
    assert!(validate_labels(&labels).is_err());
}

#[test]
fn zones() {
    assert_eq!(parse_zone(String::new()).expect("empty is unknown"), None);
    assert_eq!(
        parse_zone("eu-west-1a".to_owned()).expect("valid"),
        Some("eu-west-1a".to_owned())
    );
    let err = parse_zone("eu west".to_owned()).expect_err("space");
    assert!(
        err.to_string().starts_with("invalid zone \"eu west\""),
        "{err}"
    );
}
