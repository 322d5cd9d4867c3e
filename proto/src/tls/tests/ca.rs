use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

use super::{DAY, cluster, der};
use crate::tls::{ClusterCa, PeerIdentity, Role, TlsError, apiserver_server_name};

fn parsed(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("valid certificate").1
}

fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let san = cert.subject_alternative_name().expect("SAN parses");
    san.map(|ext| {
        ext.value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect()
    })
    .unwrap_or_default()
}

#[test]
fn issued_client_certificate_carries_identity_in_san_and_cn() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let issued = ca.issue(Role::Agent, "node-1", &[], DAY).expect("issue");
    let der = der(&issued.cert_pem);
    let id = PeerIdentity::from_der(&der).expect("identity");
    assert_eq!(
        id,
        PeerIdentity::new(cluster("east"), Role::Agent, "node-1").expect("id")
    );

    let cert = parsed(&der);
    let cn = cert.subject().iter_common_name().next().expect("CN");
    assert_eq!(cn.as_str(), Ok("clustermesh://east/agent/node-1"));
    assert_eq!(sans(&cert), ["URI(clustermesh://east/agent/node-1)"]);
    let eku = cert
        .extended_key_usage()
        .expect("EKU parses")
        .expect("EKU present");
    assert!(eku.value.client_auth && !eku.value.server_auth);
    let ca_flag = cert
        .basic_constraints()
        .expect("parses")
        .is_some_and(|b| b.value.ca);
    assert!(!ca_flag, "a leaf must not be a CA");
    assert!(issued.key_pem.contains("PRIVATE KEY"));
}

#[test]
fn server_certificate_gets_server_auth_and_the_apiserver_name() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let names = ["10.0.0.1".to_owned(), "api.example.com".to_owned()];
    let issued = ca
        .issue(Role::Server, "apiserver", &names, DAY)
        .expect("issue");
    let der = der(&issued.cert_pem);
    let cert = parsed(&der);
    assert_eq!(
        apiserver_server_name(&cluster("east")),
        "apiserver.east.clustermesh"
    );
    let sans = sans(&cert);
    for expected in [
        "URI(clustermesh://east/server/apiserver)",
        "DNSName(apiserver.east.clustermesh)",
        "DNSName(api.example.com)",
    ] {
        assert!(
            sans.iter().any(|s| s == expected),
            "{expected} not in {sans:?}"
        );
    }
    assert!(
        cert.subject_alternative_name()
            .expect("SAN")
            .expect("present")
            .value
            .general_names
            .iter()
            .any(|n| matches!(n, GeneralName::IPAddress(ip) if *ip == [10, 0, 0, 1]))
    );
    let eku = cert
        .extended_key_usage()
        .expect("EKU parses")
        .expect("EKU present");
    assert!(
        eku.value.server_auth && eku.value.client_auth,
        "replicas dial each other too"
    );
}

#[test]
fn bad_issue_requests_are_refused_with_the_reason() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let err = ca
        .issue(Role::Admin, "admin", &["x.example".to_owned()], DAY)
        .expect_err("client with server names");
    assert!(
        matches!(err, TlsError::UnexpectedServerNames { .. }),
        "{err}"
    );
    let err = ca
        .issue(Role::Server, "apiserver", &["bad name!".to_owned()], DAY)
        .expect_err("bad server name");
    assert!(
        err.to_string()
            .starts_with("invalid server name \"bad name!\""),
        "{err}"
    );
    let err = ca.issue(Role::Agent, "n1", &[], std::time::Duration::ZERO);
    assert!(matches!(err, Err(TlsError::Validity(_))), "{err:?}");
    let err = ca
        .issue(Role::Agent, "n/1", &[], DAY)
        .expect_err("bad name");
    assert!(matches!(err, TlsError::Identity(_)), "{err}");
}

#[test]
fn ca_round_trips_through_pem() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let loaded = ClusterCa::from_pem(ca.cert_pem(), &ca.key_pem()).expect("reload");
    assert_eq!(loaded.cluster(), &cluster("east"));
    assert_eq!(loaded.cert_pem(), ca.cert_pem());

    let ca_cert = parsed(&der(ca.cert_pem()))
        .tbs_certificate
        .subject
        .to_string();
    let issued = loaded.issue(Role::Peer, "west", &[], DAY).expect("issue");
    let issued_der = der(&issued.cert_pem);
    let leaf = parsed(&issued_der);
    assert_eq!(leaf.issuer().to_string(), ca_cert);
    let ca_der = der(ca.cert_pem());
    leaf.verify_signature(Some(parsed(&ca_der).public_key()))
        .expect("signed by the CA's key");
    let validity = parsed(&ca_der)
        .validity()
        .time_to_expiration()
        .expect("valid now");
    assert!(
        validity.whole_days() > 9 * 365,
        "about ten years: {validity:?}"
    );
}

#[test]
fn bad_ca_pem_is_refused_by_name() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let other = ClusterCa::generate(&cluster("west")).expect("CA");

    let err = ClusterCa::from_pem("garbage", &ca.key_pem()).expect_err("no cert");
    assert_eq!(
        err.to_string(),
        "CA certificate PEM: no CERTIFICATE block found"
    );
    let err = ClusterCa::from_pem(ca.cert_pem(), "").expect_err("no key");
    assert_eq!(err.to_string(), "CA key PEM: no PRIVATE KEY block found");
    let err = ClusterCa::from_pem(ca.cert_pem(), &other.key_pem()).expect_err("wrong key");
    assert!(err.to_string().contains("does not match"), "{err}");

    let leaf = ca.issue(Role::Admin, "admin", &[], DAY).expect("issue");
    let err = ClusterCa::from_pem(&leaf.cert_pem, &leaf.key_pem).expect_err("leaf");
    assert_eq!(err.to_string(), "CA certificate PEM: not a CA certificate");

    let truncated = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let err = ClusterCa::from_pem(truncated, &ca.key_pem()).expect_err("bad DER");
    assert!(err.to_string().starts_with("CA certificate PEM: "), "{err}");
}

#[test]
fn debug_output_never_shows_keys() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let issued = ca.issue(Role::Admin, "admin", &[], DAY).expect("issue");
    for shown in [format!("{ca:?}"), format!("{issued:?}")] {
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
}
