//! A cluster's certificate authority: creates it, loads it back from PEM and issues
//! leaf certificates that carry a clustermesh identity.

use std::{fmt, time::Duration};

use rcgen::{Issuer, KeyPair, PublicKeyData};

use super::{
    PeerIdentity, Role, TlsError,
    identity::{parse_certificate, single_identity_uri},
    params::{KEY_ALG, ca_params, leaf_params},
    pem,
};
use crate::ClusterName;

/// How long a generated CA is valid: long, because rotating it means re-issuing every
/// certificate in the cluster and re-connecting every peer.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// A certificate and its freshly generated private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

// Hand-written so that debug-printing an issued certificate never logs its key.
impl fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// One cluster's CA. Every certificate it issues names this cluster as the issuer in
/// its identity URI.
pub struct ClusterCa {
    cluster: ClusterName,
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

// Hand-written so that debug-printing the CA never logs its key.
impl fmt::Debug for ClusterCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterCa")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl ClusterCa {
    /// A new self-signed CA for `cluster`: ECDSA P-256, valid for [`CA_VALIDITY`].
    pub fn generate(cluster: &ClusterName) -> Result<Self, TlsError> {
        let key = KeyPair::generate_for(KEY_ALG)
            .map_err(|e| TlsError::crypto(format!("generating the CA key of {cluster}"), e))?;
        let params = ca_params(cluster, CA_VALIDITY)?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| TlsError::crypto(format!("self-signing the CA of {cluster}"), e))?;
        Ok(Self {
            cluster: cluster.clone(),
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA written by [`ClusterCa::cert_pem`] and [`ClusterCa::key_pem`]. The
    /// cluster is read from the certificate, and the key must match it.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        const CERT: &str = "CA certificate PEM";
        const KEY: &str = "CA key PEM";
        let der = pem::certificate(cert_pem, CERT)?;
        let x509 = parse_certificate(&der).map_err(|e| TlsError::invalid(CERT, e))?;
        match x509.basic_constraints() {
            Ok(Some(constraints)) if constraints.value.ca => {}
            _ => return Err(TlsError::invalid(CERT, "not a CA certificate")),
        }
        let cluster = ca_cluster(&single_identity_uri(&x509).map_err(|e| {
            TlsError::invalid(CERT, format!("not a clustermesh CA certificate: {e}"))
        })?)
        .map_err(|reason| TlsError::invalid(CERT, reason))?;

        let key_der = pem::private_key(key_pem, KEY)?;
        let key = KeyPair::try_from(&key_der).map_err(|e| TlsError::invalid(KEY, e))?;
        if key.subject_public_key_info() != x509.public_key().raw {
            return Err(TlsError::invalid(
                KEY,
                format!("does not match the public key of the CA certificate of {cluster}"),
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&der, key).map_err(|e| TlsError::invalid(CERT, e))?;
        Ok(Self {
            cluster,
            cert_pem: cert_pem.to_owned(),
            issuer,
        })
    }

    pub fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    /// The CA certificate: what servers and clients of this cluster trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's private key (PKCS#8 PEM), for storing with mode 0600.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Issues a certificate and a new key for `role`/`name`. `server_names` (DNS names
    /// or IP addresses) are only for [`Role::Server`], whose certificate also always
    /// carries [`super::apiserver_server_name`] of this cluster.
    pub fn issue(
        &self,
        role: Role,
        name: &str,
        server_names: &[String],
        validity: Duration,
    ) -> Result<IssuedCert, TlsError> {
        let key = KeyPair::generate_for(KEY_ALG)
            .map_err(|e| TlsError::crypto(format!("generating a key for {role} {name:?}"), e))?;
        let cert_pem = self.sign_leaf(role, name, server_names, validity, &key)?;
        Ok(IssuedCert {
            cert_pem,
            key_pem: key.serialize_pem(),
        })
    }

    /// Signs a leaf certificate for `public_key`, with contents chosen here alone.
    pub(crate) fn sign_leaf(
        &self,
        role: Role,
        name: &str,
        server_names: &[String],
        validity: Duration,
        public_key: &impl PublicKeyData,
    ) -> Result<String, TlsError> {
        let identity = PeerIdentity::new(self.cluster.clone(), role, name)?;
        let params = leaf_params(&identity, server_names, validity)?;
        let cert = params
            .signed_by(public_key, &self.issuer)
            .map_err(|e| TlsError::crypto(format!("signing the certificate of {identity}"), e))?;
        Ok(cert.pem())
    }
}

/// The cluster named by a CA's URI, `clustermesh://<cluster>`.
fn ca_cluster(uri: &str) -> Result<ClusterName, String> {
    let cluster = uri
        .strip_prefix(super::IDENTITY_URI_PREFIX)
        .ok_or_else(|| format!("CA URI {uri:?} lacks the clustermesh:// prefix"))?;
    let cluster = ClusterName::new(cluster)
        .map_err(|e| format!("CA URI {:?}: {e}", super::error::shown(uri)))?;
    Ok(cluster)
}
