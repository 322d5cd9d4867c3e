//! The certificate contents the CA decides: names, key usages and validity. Kept apart
//! from signing so issuing and CSR signing build leaf certificates the same way.

use std::{
    net::IpAddr,
    time::{Duration, SystemTime},
};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SanType, SignatureAlgorithm, string::Ia5String,
};

use super::{PeerIdentity, TlsError, apiserver_server_name, error::shown};
use crate::ClusterName;

/// Every key clustermesh generates: ECDSA P-256, small and supported by every peer.
pub(crate) static KEY_ALG: &SignatureAlgorithm = &rcgen::PKCS_ECDSA_P256_SHA256;

/// Longest validity accepted for any certificate; also keeps date arithmetic far from
/// overflow.
pub(crate) const MAX_VALIDITY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Certificates start this far in the past, so a peer whose clock lags slightly does
/// not reject a certificate issued a moment ago.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Parameters for a leaf certificate carrying `identity`. Server certificates get the
/// conventional apiserver name plus `server_names`; client certificates take none.
pub(crate) fn leaf_params(
    identity: &PeerIdentity,
    server_names: &[String],
    validity: Duration,
) -> Result<CertificateParams, TlsError> {
    let uri = identity.to_uri();
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(&uri);
    params.subject_alt_names = vec![uri_san(&uri)?];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    if identity.role.is_client() {
        if !server_names.is_empty() {
            return Err(TlsError::UnexpectedServerNames {
                role: identity.role,
                names: server_names.iter().map(|n| shown(n)).collect(),
            });
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    } else {
        // Apiserver replicas also dial each other (raft replication) with this certificate.
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let mut names = vec![apiserver_server_name(&identity.issuer_cluster)];
        for name in server_names {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        for name in &names {
            params.subject_alt_names.push(server_name_san(name)?);
        }
    }
    set_validity(&mut params, validity)?;
    Ok(params)
}

/// Parameters for a cluster's self-signed CA. It may sign only leaf certificates
/// (path length 0): clustermesh never delegates to intermediate CAs.
pub(crate) fn ca_params(
    cluster: &ClusterName,
    validity: Duration,
) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(&format!("clustermesh CA {cluster}"));
    params.subject_alt_names = vec![uri_san(&ca_uri(cluster))?];
    params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, validity)?;
    Ok(params)
}

/// The CA's own URI, `clustermesh://<cluster>`: it records which cluster the CA
/// belongs to, so a CA loaded from PEM knows the cluster to put in what it issues.
pub(crate) fn ca_uri(cluster: &ClusterName) -> String {
    format!("{}{cluster}", super::IDENTITY_URI_PREFIX)
}

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn uri_san(uri: &str) -> Result<SanType, TlsError> {
    let uri = Ia5String::try_from(uri).map_err(|e| TlsError::invalid("identity URI", e))?;
    Ok(SanType::URI(uri))
}

/// An IP address SAN for addresses, otherwise a DNS name SAN; DNS names are checked as
/// TLS clients will check them, so a certificate no client could match is refused.
fn server_name_san(name: &str) -> Result<SanType, TlsError> {
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let refuse = |reason: String| TlsError::ServerName {
        name: shown(name),
        reason,
    };
    rustls_pki_types::DnsName::try_from(name)
        .map_err(|_| refuse("not an IP address or a valid DNS name".into()))?;
    let ia5 = Ia5String::try_from(name).map_err(|e| refuse(e.to_string()))?;
    Ok(SanType::DnsName(ia5))
}

fn set_validity(params: &mut CertificateParams, validity: Duration) -> Result<(), TlsError> {
    if validity < Duration::from_secs(1) || validity > MAX_VALIDITY {
        return Err(TlsError::Validity(validity));
    }
    // A clock before 1970 is a broken host; treat it as the epoch rather than fail.
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    // Checked, so a host clock set absurdly far ahead gives an error, not a panic.
    let at = |offset: Duration| {
        offset
            .try_into()
            .ok()
            .and_then(|offset| epoch.checked_add(offset))
            .ok_or(TlsError::Validity(validity))
    };
    params.not_before = at(since_epoch.saturating_sub(CLOCK_SKEW))?;
    params.not_after = at(since_epoch.saturating_add(validity))?;
    Ok(())
}
