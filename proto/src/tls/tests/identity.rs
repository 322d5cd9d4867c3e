use super::{cert_with_uris, cluster};
use crate::tls::{IdentityError, PeerIdentity, Role};

#[test]
fn role_round_trips_through_its_string_form() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        assert_eq!(role.to_string(), role.as_str());
    }
    let err = "root".parse::<Role>().expect_err("unknown role");
    assert_eq!(
        err.to_string(),
        "unknown role \"root\": expected agent, peer, admin or server"
    );
    assert!("Agent".parse::<Role>().is_err(), "roles are case-sensitive");
}

#[test]
fn identity_round_trips_through_its_uri() {
    let cases = [
        (Role::Agent, "node-1.example"),
        (Role::Peer, "west"),
        (Role::Admin, "admin"),
        (Role::Admin, "alice_b"),
        (Role::Server, "apiserver"),
    ];
    for (role, name) in cases {
        let id = PeerIdentity::new(cluster("east"), role, name).expect("valid identity");
        let uri = id.to_uri();
        assert_eq!(uri, format!("clustermesh://east/{role}/{name}"));
        assert_eq!(id.to_string(), uri);
        assert_eq!(PeerIdentity::from_uri(&uri), Ok(id));
    }
}

#[test]
fn malformed_uris_are_refused_with_the_reason() {
    let cases = [
        ("https://east/agent/n1", "must start with clustermesh://"),
        ("clustermesh://east/agent", "exactly three segments"),
        ("clustermesh://east/agent/n1/x", "exactly three segments"),
        ("clustermesh://east/root/n1", "unknown role \"root\""),
        ("clustermesh://default/agent/n1", "\"default\" is reserved"),
        ("clustermesh://East/agent/n1", "invalid cluster name"),
        ("clustermesh://east/agent/", "must not be empty"),
        ("clustermesh://east/agent/n 1", "may only contain"),
        (
            "clustermesh://east/peer/West",
            "a peer is named by its cluster name",
        ),
    ];
    for (uri, expected) in cases {
        let err = PeerIdentity::from_uri(uri).expect_err(uri);
        assert!(matches!(err, IdentityError::Uri { .. }), "{uri}: {err:?}");
        let message = err.to_string();
        assert!(message.contains(expected), "{uri}: {message}");
        assert!(message.contains(&format!("{uri:?}")), "{message}");
    }
}

#[test]
fn names_are_limited_in_length() {
    let long = "n".repeat(254);
    let err = PeerIdentity::new(cluster("east"), Role::Agent, long).expect_err("too long");
    assert!(err.to_string().contains("at most 253"), "{err}");
    assert!(PeerIdentity::new(cluster("east"), Role::Agent, "n".repeat(253)).is_ok());
}

#[test]
fn garbage_der_is_an_error_not_a_panic() {
    let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0x30], vec![0xff; 64], b"hello".to_vec()];
    // Every prefix of a real certificate: truncation must never panic the parser.
    let real = cert_with_uris(&["clustermesh://east/agent/n1"]);
    inputs.extend((0..real.len()).step_by(7).map(|end| real[..end].to_vec()));
    for input in inputs {
        let err = PeerIdentity::from_der(&input).expect_err("not a certificate");
        assert!(matches!(err, IdentityError::Der(_)), "{err:?}");
    }
    let mut trailing = real.clone();
    trailing.push(0);
    let err = PeerIdentity::from_der(&trailing).expect_err("trailing byte");
    assert_eq!(
        err,
        IdentityError::Der("1 trailing bytes after the certificate".into())
    );
}

#[test]
fn certificates_need_exactly_one_clustermesh_uri() {
    let none = cert_with_uris(&["https://example.com/"]);
    assert_eq!(
        PeerIdentity::from_der(&none),
        Err(IdentityError::NoIdentity)
    );

    let two = cert_with_uris(&[
        "clustermesh://east/agent/n1",
        "clustermesh://east/admin/admin",
    ]);
    assert_eq!(
        PeerIdentity::from_der(&two),
        Err(IdentityError::MultipleIdentities(2))
    );

    // Other URIs beside the one clustermesh URI are ignored.
    let one = cert_with_uris(&["spiffe://x/y", "clustermesh://east/agent/n1"]);
    let id = PeerIdentity::from_der(&one).expect("one identity");
    assert_eq!((id.role, id.name.as_str()), (Role::Agent, "n1"));
}

#[test]
fn unknown_role_in_a_certificate_is_refused() {
    let der = cert_with_uris(&["clustermesh://east/superuser/n1"]);
    let err = PeerIdentity::from_der(&der).expect_err("unknown role");
    assert!(
        err.to_string().contains("unknown role \"superuser\""),
        "{err}"
    );
}
