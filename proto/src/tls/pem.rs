//! PEM decoding with errors that say which input was wrong and what was missing.

use rustls_pki_types::{
    CertificateDer, CertificateSigningRequestDer, PrivateKeyDer,
    pem::{self, PemObject},
};

use super::TlsError;

/// Every CERTIFICATE block in `pem_text`; at least one is required.
pub(crate) fn certificates(
    pem_text: &str,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem_text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| malformed(what, &e))?;
    if certs.is_empty() {
        return Err(missing(what, "CERTIFICATE"));
    }
    Ok(certs)
}

/// The first CERTIFICATE block, for inputs that hold a single certificate.
pub(crate) fn certificate(pem_text: &str, what: &str) -> Result<CertificateDer<'static>, TlsError> {
    let mut certs = certificates(pem_text, what)?;
    Ok(certs.swap_remove(0))
}

/// The first private key block (PKCS#8, SEC1 or PKCS#1).
pub(crate) fn private_key(pem_text: &str, what: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem_text.as_bytes()).map_err(|e| match e {
        pem::Error::NoItemsFound => missing(what, "PRIVATE KEY"),
        other => malformed(what, &other),
    })
}

/// The first CERTIFICATE REQUEST block.
pub(crate) fn csr(pem_text: &str) -> Result<CertificateSigningRequestDer<'static>, TlsError> {
    let what = "certificate signing request PEM";
    CertificateSigningRequestDer::from_pem_slice(pem_text.as_bytes()).map_err(|e| match e {
        pem::Error::NoItemsFound => missing(what, "CERTIFICATE REQUEST"),
        other => malformed(what, &other),
    })
}

fn missing(what: &str, label: &'static str) -> TlsError {
    TlsError::PemMissing {
        what: what.to_owned(),
        label,
    }
}

// The PEM error's Display never includes key bytes: it names markers, base64 problems
// or I/O, so it is safe to put in a message even for key files.
fn malformed(what: &str, error: &pem::Error) -> TlsError {
    TlsError::PemMalformed {
        what: what.to_owned(),
        reason: error.to_string(),
    }
}
