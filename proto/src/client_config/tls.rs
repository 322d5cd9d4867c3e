//! Turning a context into a tonic endpoint with the context's mTLS identity.

use std::path::Path;

use tonic::transport::{ClientTlsConfig, Endpoint};

use super::{ClientConfigError, Context};
use crate::tls::{self, TlsError};

impl Context {
    /// Reads the context's CA, certificate and key and builds the client TLS config,
    /// checking the apiserver's certificate against
    /// [`tls::apiserver_server_name`] of the context's cluster.
    pub fn client_tls(&self) -> Result<ClientTlsConfig, ClientConfigError> {
        let ca = self.read("certificate-authority", &self.certificate_authority)?;
        let cert = self.read("client-certificate", &self.client_certificate)?;
        let key = self.read("client-key", &self.client_key)?;
        let server_name = tls::apiserver_server_name(&self.cluster);
        tls::client_tls(&ca, &cert, &key, &server_name).map_err(|source| ClientConfigError::Tls {
            context: self.name.to_string(),
            files: self.files_of(&source),
            source,
        })
    }

    /// `https://<server>`, with [`Context::client_tls`]. Connecting is left to the
    /// caller, so it can choose timeouts and lazy or eager connection.
    pub fn endpoint(&self) -> Result<Endpoint, ClientConfigError> {
        let uri = format!("https://{}", self.server);
        let bad = |reason: String| ClientConfigError::Endpoint {
            context: self.name.to_string(),
            uri: uri.clone(),
            reason,
        };
        let tls = self.client_tls()?;
        Endpoint::from_shared(uri.clone())
            .map_err(|e| bad(e.to_string()))?
            .tls_config(tls)
            .map_err(|e| bad(e.to_string()))
    }

    fn read(&self, what: &'static str, path: &Path) -> Result<String, ClientConfigError> {
        std::fs::read_to_string(path).map_err(|source| ClientConfigError::ReadFile {
            context: self.name.to_string(),
            what,
            path: path.to_owned(),
            source,
        })
    }

    /// Which of the context's files a TLS error is about, going by the input names
    /// `tls::client_tls` reports.
    fn files_of(&self, error: &TlsError) -> String {
        let what = match error {
            TlsError::PemMissing { what, .. }
            | TlsError::PemMalformed { what, .. }
            | TlsError::Invalid { what, .. } => what.as_str(),
            _ => "",
        };
        let (ca, cert, key) = (
            &self.certificate_authority,
            &self.client_certificate,
            &self.client_key,
        );
        let paths: Vec<&Path> = match what {
            "server CA PEM" => vec![ca],
            "client certificate PEM" => vec![cert],
            "client key PEM" => vec![key],
            "client certificate and key PEM" => vec![cert, key],
            _ => vec![ca, cert, key],
        };
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    }
}
