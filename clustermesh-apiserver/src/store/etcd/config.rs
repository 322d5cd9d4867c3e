//! How to reach etcd, and how the etcd backend shapes its requests.

use std::path::PathBuf;
use std::time::Duration;

use etcd_client::{Certificate, ConnectOptions, Identity, TlsOptions};

use crate::store::{Result, StoreError};

/// etcd's own default for `--max-txn-ops`: a larger batch is refused by the server.
pub const DEFAULT_MAX_BATCH_OPS: usize = 128;

/// Keys per `list` page. Small enough that a page of typical export records stays well
/// under the 4 MiB gRPC message limit; pages of large values shrink further (see `list`).
pub const DEFAULT_LIST_PAGE_KEYS: usize = 5_000;

#[derive(Debug, Clone)]
pub struct EtcdStoreConfig {
    /// Client URLs, e.g. `http://127.0.0.1:2379` (or `https://…` with `tls`).
    pub endpoints: Vec<String>,
    /// A namespace prepended to every key, so several meshes (or other users) can share
    /// one etcd. Keys handed to and returned from the store never include it.
    pub key_prefix: String,
    /// Events a watcher may have queued before it is cut with `WatchLagged`.
    pub watch_buffer_events: usize,
    /// The largest `write_batch`; must not exceed the server's `--max-txn-ops`.
    pub max_batch_ops: usize,
    /// Keys per `list` page, before shrinking for large values.
    pub list_page_keys: usize,
    /// How long `connect` waits for the first successful round trip.
    pub connect_timeout: Duration,
    /// The deadline of every unary request. Without it a request to an unreachable
    /// cluster waits for a connection forever instead of failing as `Unavailable`.
    pub request_timeout: Duration,
    /// mTLS towards etcd; `None` speaks plaintext (only sensible on loopback).
    pub tls: Option<EtcdTlsConfig>,
}

impl Default for EtcdStoreConfig {
    fn default() -> Self {
        EtcdStoreConfig {
            endpoints: vec!["http://127.0.0.1:2379".to_owned()],
            key_prefix: String::new(),
            watch_buffer_events: crate::store::DEFAULT_WATCH_BUFFER_EVENTS,
            max_batch_ops: DEFAULT_MAX_BATCH_OPS,
            list_page_keys: DEFAULT_LIST_PAGE_KEYS,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            tls: None,
        }
    }
}

/// PEM files for TLS towards etcd. Endpoints must then use `https://`.
#[derive(Debug, Clone)]
pub struct EtcdTlsConfig {
    /// The CA that signed etcd's serving certificate.
    pub ca_pem: PathBuf,
    /// A client certificate and key, for etcd's `--client-cert-auth`.
    pub client_cert_pem: Option<PathBuf>,
    pub client_key_pem: Option<PathBuf>,
}

impl EtcdStoreConfig {
    /// Rejects a config that cannot work, before any connection is attempted.
    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: String| Err(StoreError::InvalidArgument(msg));
        if self.endpoints.is_empty() {
            return invalid("etcd config: at least one endpoint is required".into());
        }
        if self.max_batch_ops == 0 {
            return invalid("etcd config: max_batch_ops must be at least 1".into());
        }
        if self.list_page_keys == 0 {
            return invalid("etcd config: list_page_keys must be at least 1".into());
        }
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return invalid("etcd config: timeouts must be greater than zero".into());
        }
        if let Some(tls) = &self.tls
            && tls.client_cert_pem.is_some() != tls.client_key_pem.is_some()
        {
            return invalid("etcd config: client certificate and key go together".into());
        }
        Ok(())
    }

    pub(super) async fn connect_options(&self) -> Result<ConnectOptions> {
        let mut options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            // Finds a dead connection (a silently lost peer) instead of waiting on it
            // forever; slower than etcd's --grpc-keepalive-min-time (5 s) so the server
            // never answers our pings with GOAWAY "too many pings".
            .with_keep_alive(Duration::from_secs(30), Duration::from_secs(10));
        if let Some(tls) = &self.tls {
            options = options.with_tls(tls.load().await?);
        }
        Ok(options)
    }
}

impl EtcdTlsConfig {
    async fn load(&self) -> Result<TlsOptions> {
        let ca = read_pem(&self.ca_pem).await?;
        let mut tls = TlsOptions::new().ca_certificate(Certificate::from_pem(ca));
        if let (Some(cert), Some(key)) = (&self.client_cert_pem, &self.client_key_pem) {
            let identity = Identity::from_pem(read_pem(cert).await?, read_pem(key).await?);
            tls = tls.identity(identity);
        }
        Ok(tls)
    }
}

async fn read_pem(path: &PathBuf) -> Result<Vec<u8>> {
    tokio::fs::read(path).await.map_err(|err| {
        StoreError::InvalidArgument(format!("etcd TLS: cannot read {}: {err}", path.display()))
    })
}
