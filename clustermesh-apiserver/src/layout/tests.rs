use super::*;

fn name(s: &str) -> ClusterName {
    ClusterName::new(s).expect("valid cluster name")
}

fn cluster_record(cluster: &str) -> Record {
    Record::try_from(pb::Record {
        record: Some(pb::record::Record::Cluster(pb::Cluster {
            name: cluster.into(),
            id: 7,
            pod_cidrs: vec!["10.7.0.0/16".into()],
            advertise_address: "127.0.0.1:7443".into(),
        })),
    })
    .expect("valid record")
}

#[test]
fn classifies_every_family() {
    assert!(matches!(classify("a/nodes/n1"), Ok(KeyClass::Record(k)) if k.name() == "n1"));
    assert!(matches!(
        classify("a/synced/nodes"),
        Ok(KeyClass::Synced(_))
    ));
    assert!(matches!(classify("b/peer-state"), Ok(KeyClass::PeerState(c)) if c == name("b")));
    assert!(matches!(
        classify("a/registrations/n1"),
        Ok(KeyClass::Internal)
    ));
    assert!(matches!(
        classify("a/identity-alloc/by-id/3"),
        Ok(KeyClass::Internal)
    ));
    assert!(matches!(classify(EPOCH_KEY), Ok(KeyClass::Internal)));
}

#[test]
fn the_shape_alone_tells_the_family_that_classify_finds() {
    let keys = [
        ("a/nodes/n1", Family::Record),
        ("a/services/shop/web", Family::Record),
        ("a/endpoints/fd00::1", Family::Record),
        ("a/synced/nodes", Family::Synced),
        ("b/peer-state", Family::PeerState),
        ("a/registrations/n1", Family::Internal),
        ("a/identity-alloc/next", Family::Internal),
        (EPOCH_KEY, Family::Internal),
    ];
    for (key, want) in keys {
        assert_eq!(family(key), want, "{key}");
        let class = classify(key).expect(key);
        let found = match class {
            KeyClass::Record(_) => Family::Record,
            KeyClass::Synced(_) => Family::Synced,
            KeyClass::PeerState(_) => Family::PeerState,
            KeyClass::Internal => Family::Internal,
        };
        assert_eq!(found, want, "classify and family disagree on {key}");
    }
    for key in [
        "a/widgets/x",
        "a",
        "a/peer-state/x",
        "/nodes/n1",
        "a/nodes/",
        "a/synced/x",
    ] {
        assert_eq!(family(key), Family::Unknown, "{key}");
    }
}

#[test]
fn unknown_shapes_are_errors_naming_the_key() {
    for key in ["a/widgets/x", "a", "a/peer-state/x", "Bad/nodes/n1"] {
        let err = classify(key).expect_err(key);
        assert!(err.to_string().contains(key), "{key}: {err}");
    }
}

#[test]
fn record_roundtrip_and_placement_check() {
    let record = cluster_record("a");
    let value = encode_record(&record);
    assert_eq!(
        decode_record("a/clusters/a", &value).expect("decodes"),
        record
    );
    let err = decode_record("b/clusters/b", &value).expect_err("misplaced");
    assert!(matches!(err, LayoutError::Misplaced { .. }), "{err}");
}

#[test]
fn garbage_values_name_the_key_and_what_was_expected() {
    let err = decode_record("a/clusters/a", b"\xff\xff\xff").expect_err("garbage");
    let text = err.to_string();
    assert!(
        text.contains("a/clusters/a") && text.contains("record"),
        "{text}"
    );
    let err = decode_peer_state("a/peer-state", &[]).expect_err("empty peer state");
    assert!(err.to_string().contains("peer state"), "{err}");
}

#[test]
fn peer_state_and_synced_roundtrip() {
    let state = PeerState {
        cluster: name("b"),
        reachable: false,
        last_heartbeat_unix_ms: Some(5),
    };
    let key = peer_state_key(&state.cluster);
    assert_eq!(
        decode_peer_state(&key, &encode_peer_state(&state)).expect("decodes"),
        state
    );
    let marker = SyncedMarker {
        cluster: name("b"),
        kind: clustermesh_proto::RecordKind::Node,
        revision: 9,
    };
    assert_eq!(
        decode_synced("b/synced/nodes", &encode_synced(&marker)).expect("decodes"),
        marker
    );
}
