use super::{DAY, cluster};
use crate::tls::{ClusterCa, Role, TlsError, apiserver_server_name, client_tls, server_tls};

#[test]
fn valid_inputs_build_both_configs() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let server = ca
        .issue(Role::Server, "apiserver", &[], DAY)
        .expect("server");
    let client = ca.issue(Role::Agent, "n1", &[], DAY).expect("client");
    server_tls(&server.cert_pem, &server.key_pem, ca.cert_pem()).expect("server config");
    let name = apiserver_server_name(ca.cluster());
    client_tls(ca.cert_pem(), &client.cert_pem, &client.key_pem, &name).expect("client config");
}

#[test]
fn bad_inputs_are_named_in_the_error() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let other = ClusterCa::generate(&cluster("west")).expect("CA");
    let server = ca
        .issue(Role::Server, "apiserver", &[], DAY)
        .expect("server");
    let client = ca.issue(Role::Admin, "admin", &[], DAY).expect("client");
    let name = apiserver_server_name(ca.cluster());

    let cases: Vec<(Result<(), TlsError>, &str)> = vec![
        (
            server_tls("junk", &server.key_pem, ca.cert_pem()).map(drop),
            "server certificate PEM: no CERTIFICATE block found",
        ),
        (
            server_tls(&server.cert_pem, &server.cert_pem, ca.cert_pem()).map(drop),
            "server key PEM: no PRIVATE KEY block found",
        ),
        (
            server_tls(&server.cert_pem, &server.key_pem, "").map(drop),
            "client CA PEM: no CERTIFICATE block found",
        ),
        (
            server_tls(&server.cert_pem, &other.key_pem(), ca.cert_pem()).map(drop),
            "server certificate and key PEM: ",
        ),
        (
            client_tls(ca.cert_pem(), "", &client.key_pem, &name).map(drop),
            "client certificate PEM: no CERTIFICATE block found",
        ),
        (
            client_tls(ca.cert_pem(), &client.cert_pem, &server.key_pem, &name).map(drop),
            "client certificate and key PEM: ",
        ),
        (
            client_tls(ca.cert_pem(), &client.cert_pem, &client.key_pem, "bad name").map(drop),
            "invalid server name \"bad name\"",
        ),
        (
            client_tls(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                &client.cert_pem,
                &client.key_pem,
                &name,
            )
            .map(drop),
            "server CA PEM: ",
        ),
    ];
    for (result, expected) in cases {
        let err = result.expect_err(expected);
        assert!(err.to_string().starts_with(expected), "{err} !~ {expected}");
        assert!(!err.to_string().contains("PRIVATE KEY-----"), "{err}");
    }
}
