use super::*;

fn c1() -> ClusterName {
    ClusterName::new("c1").expect("valid")
}

#[test]
fn format_and_parse_roundtrip() {
    let cases = [
        (RecordKind::Cluster, "c2"),
        (RecordKind::Node, "ip-10-0-0-1.ec2.internal"),
        (RecordKind::Identity, "65537"),
        (RecordKind::Endpoint, "10.1.0.7"),
        (RecordKind::Endpoint, "fd00::7"),
        (RecordKind::GlobalService, "shop/web"),
    ];
    for (kind, name) in cases {
        let key = StoreKey::new(c1(), kind, name).expect("valid");
        let text = key.to_string();
        assert_eq!(text, format!("c1/{}/{name}", kind.as_str()));
        assert_eq!(StoreKey::parse(&text).expect("parses"), key);
        assert!(text.starts_with(&kind_prefix(&c1(), kind)));
        assert!(text.starts_with(&cluster_prefix(&c1())));
    }
}

#[test]
fn synced_keys() {
    for kind in RecordKind::ALL {
        let key = SyncedKey::new(c1(), kind);
        let text = key.to_string();
        assert_eq!(text, format!("c1/synced/{kind}"));
        assert!(text.starts_with(&synced_prefix(&c1())));
        assert_eq!(SyncedKey::parse(&text).expect("parses"), key);
        assert_eq!(AnyKey::parse(&text).expect("parses"), AnyKey::Synced(key));
    }
    assert!(SyncedKey::parse("c1/synced/widgets").is_err());
    assert!(SyncedKey::parse("c1/nodes/n1").is_err());
    assert!(StoreKey::parse("c1/synced/nodes").is_err());
}

#[test]
fn rejects_wrong_shape() {
    for bad in [
        "",
        "c1",
        "c1/",
        "c1/nodes",
        "/nodes/n1",
        "c1/services/web",
        "a/b",
    ] {
        let err = StoreKey::parse(bad).expect_err(bad);
        assert!(
            matches!(err, KeyError::Shape { .. } | KeyError::Segment { .. }),
            "{bad}: {err}"
        );
    }
    let err = StoreKey::parse("c1/nodes").expect_err("no name");
    assert_eq!(
        err.to_string(),
        "invalid store key \"c1/nodes\": expected <cluster>/<kind>/<name>"
    );
}

#[test]
fn rejects_bad_segments() {
    let cases = [
        ("C1/nodes/n1", "invalid cluster name \"C1\""),
        ("c1/widgets/x", "unknown record kind \"widgets\""),
        ("c1/nodes/", "invalid DNS subdomain \"\""),
        ("c1/nodes/a/b", "invalid DNS subdomain \"a/b\""),
        ("c1/identities/5", "invalid identity id 5"),
        ("c1/identities/065537", "invalid identity id \"065537\""),
        ("c1/endpoints/10.1.0", "invalid IP address \"10.1.0\""),
        ("c1/services/shop/web/x", "invalid DNS label \"web/x\""),
        ("c1/services//web", "invalid DNS label \"\""),
    ];
    for (key, want) in cases {
        let err = StoreKey::parse(key).expect_err(key).to_string();
        assert!(err.contains(want), "{key}: got {err:?}, want {want:?}");
    }
}

#[test]
fn rejects_non_canonical_endpoint_ip() {
    let err = StoreKey::parse("c1/endpoints/fd00:0::7").expect_err("not canonical");
    assert_eq!(
        err,
        KeyError::NotCanonical {
            key: "c1/endpoints/fd00:0::7".into(),
            canonical: "fd00::7".into()
        }
    );
}

#[test]
fn garbage_never_panics() {
    let garbage = [
        "/",
        "//",
        "///",
        "\0/\0/\0",
        "é/é/é",
        "c1/endpoints/::ffff:1.2.3.4",
        "c1/identities/99999999999999999999",
        "c1/services/a/",
        "c1//n1",
    ];
    for g in garbage {
        let _ = StoreKey::parse(g);
        let _ = SyncedKey::parse(g);
        let _ = AnyKey::parse(g);
    }
    // Every prefix of a valid key, cut at any byte, is handled too.
    let key = "c1/services/shop/web";
    for end in 0..key.len() {
        let _ = AnyKey::parse(&key[..end]);
    }
    let long = "x/".repeat(10_000);
    let err = StoreKey::parse(&long).expect_err("garbage").to_string();
    assert!(err.len() < 1_000, "error message is bounded");
}

#[test]
fn service_keys_need_namespace_and_name() {
    let err = StoreKey::parse("c1/services/web").expect_err("no namespace");
    assert_eq!(
        err.to_string(),
        "invalid store key \"c1/services/web\": expected <cluster>/services/<namespace>/<name>"
    );
}
