use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair, PublicKeyData,
    SanType,
};
use x509_parser::{certificate::X509Certificate, prelude::FromDer};

use super::{DAY, cluster, der};
use crate::tls::{ClusterCa, PeerIdentity, Role, TlsError, create_csr};

#[test]
fn signer_sets_role_and_name_and_keeps_the_requesters_key() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    // The requester asks to be admin; the signer decides it is peer "west".
    let (csr_pem, key_pem) = create_csr(Role::Admin, "admin").expect("CSR");
    assert!(
        !csr_pem.contains("PRIVATE KEY"),
        "a CSR must not carry the key"
    );
    let cert_pem = ca
        .sign_csr(&csr_pem, Role::Peer, "west", DAY)
        .expect("sign");

    let der = der(&cert_pem);
    let id = PeerIdentity::from_der(&der).expect("identity");
    assert_eq!(
        id,
        PeerIdentity::new(cluster("east"), Role::Peer, "west").expect("id")
    );

    let key = KeyPair::from_pem(&key_pem).expect("requester key");
    let cert = X509Certificate::from_der(&der).expect("cert").1;
    assert_eq!(
        cert.public_key().raw,
        key.subject_public_key_info().as_slice()
    );
}

/// A hostile requester stuffs its CSR with an admin identity, a CA flag and server
/// usage. None of it may reach the certificate.
#[test]
fn csr_contents_cannot_escalate_role_name_or_usage() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(vec!["apiserver.east.clustermesh".to_owned()]).expect("params");
    params.subject_alt_names.push(SanType::URI(
        "clustermesh://east/admin/root".try_into().expect("ASCII"),
    ));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "clustermesh://east/admin/root");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let csr_pem = params
        .serialize_request(&key)
        .and_then(|csr| csr.pem())
        .expect("CSR");

    let cert_pem = ca
        .sign_csr(&csr_pem, Role::Agent, "node-7", DAY)
        .expect("sign");
    let der = der(&cert_pem);
    let id = PeerIdentity::from_der(&der).expect("exactly one identity");
    assert_eq!((id.role, id.name.as_str()), (Role::Agent, "node-7"));

    let cert = X509Certificate::from_der(&der).expect("cert").1;
    let cn = cert.subject().iter_common_name().next().expect("CN");
    assert_eq!(cn.as_str(), Ok("clustermesh://east/agent/node-7"));
    let sans = cert
        .subject_alternative_name()
        .expect("SAN")
        .expect("present");
    assert_eq!(sans.value.general_names.len(), 1, "only the signer's URI");
    let is_ca = cert
        .basic_constraints()
        .expect("parses")
        .is_some_and(|b| b.value.ca);
    assert!(!is_ca);
    let eku = cert.extended_key_usage().expect("EKU").expect("present");
    assert!(eku.value.client_auth && !eku.value.server_auth);
}

#[test]
fn csr_with_a_bad_signature_is_refused() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let (csr_pem, _key) = create_csr(Role::Agent, "n1").expect("CSR");
    let mut der = rustls_pki_types::pem::PemObject::from_pem_slice(csr_pem.as_bytes())
        .map(|d: rustls_pki_types::CertificateSigningRequestDer<'_>| d.as_ref().to_vec())
        .expect("CSR DER");
    // The signature is the last field: flipping its final byte breaks only it.
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    let tampered = pem_encode("CERTIFICATE REQUEST", &der);
    let err = ca
        .sign_csr(&tampered, Role::Agent, "n1", DAY)
        .expect_err("tampered");
    assert!(matches!(err, TlsError::Csr(_)), "{err}");
}

#[test]
fn garbage_csrs_are_errors_not_panics() {
    let ca = ClusterCa::generate(&cluster("east")).expect("CA");
    let err = ca.sign_csr("", Role::Agent, "n1", DAY).expect_err("empty");
    assert_eq!(
        err.to_string(),
        "certificate signing request PEM: no CERTIFICATE REQUEST block found"
    );
    for body in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x00", &[0xff; 40]] {
        let pem = pem_encode("CERTIFICATE REQUEST", body);
        let err = ca
            .sign_csr(&pem, Role::Agent, "n1", DAY)
            .expect_err("garbage");
        assert!(matches!(err, TlsError::Csr(_)), "{err}");
    }
    let err = create_csr(Role::Peer, "Not A Cluster").expect_err("bad name");
    assert!(matches!(err, TlsError::Identity(_)), "{err}");
}

/// Minimal PEM encoder for hand-made test inputs.
fn pem_encode(label: &str, der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                b64.push('=');
            }
        }
    }
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}
