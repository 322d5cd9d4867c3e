use tonic::{Code, Request};

use crate::tls::{Role, authorize, install_crypto_provider};

#[test]
fn request_without_peer_certificates_is_unauthenticated() {
    // What a handler sees on a connection without TLS client certificates.
    let status = authorize(&Request::new(()), &[Role::Admin]).expect_err("no certificate");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        status.message().contains("mutual TLS"),
        "{}",
        status.message()
    );
}

#[test]
fn installing_the_crypto_provider_is_idempotent() {
    install_crypto_provider();
    install_crypto_provider();
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
}
