//! Dialling a peer: mTLS with the peer's CA and the certificate it signed for us, and
//! the server name fixed to the peer's apiserver name whatever address is dialled.

use clustermesh_proto::{ValidationError, WatchEvent, pb, tls};
use tonic::transport::Endpoint;

use super::{ImportTimings, PeerConfig};
use crate::feed::Resume;

/// Largest message accepted from a peer; a record is far smaller, so anything bigger
/// is refused rather than buffered.
pub(super) const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub(super) enum LinkError {
    #[error("peer TLS settings are invalid: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("peer address {address:?} is not usable: {reason}")]
    Address { address: String, reason: String },
    #[error("cannot connect to {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("peer refused the watch: {0}")]
    Refused(#[from] tonic::Status),
}

pub(super) type PeerStream = tonic::Streaming<pb::PeerWatchResponse>;

pub(super) async fn open(
    peer: &PeerConfig,
    timings: &ImportTimings,
    resume: Resume,
) -> Result<PeerStream, LinkError> {
    let server_name = tls::apiserver_server_name(&peer.cluster.name);
    let tls = tls::client_tls(&peer.ca_pem, &peer.cert_pem, &peer.key_pem, &server_name)?;
    let address = peer.cluster.advertise_address.to_string();
    let bad_address = |reason: String| LinkError::Address {
        address: address.clone(),
        reason,
    };
    let endpoint = Endpoint::from_shared(format!("https://{address}"))
        .map_err(|e| bad_address(e.to_string()))?
        .tls_config(tls)
        .map_err(|e| bad_address(e.to_string()))?
        .connect_timeout(timings.connect_timeout)
        .tcp_nodelay(true);
    let channel = endpoint.connect().await.map_err(|e| LinkError::Connect {
        address: address.clone(),
        reason: crate::report::error_chain(&e),
    })?;
    let mut client = pb::peer_export_client::PeerExportClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
    let request = pb::PeerWatchRequest {
        resume_revision: resume.revision,
        resume_epoch: resume.epoch,
        heartbeat_interval_ms: clustermesh_proto::peer_heartbeat_for_timeout(timings.peer_timeout)
            .as_millis() as u64,
    };
    // The stream's own liveness is the importer's heartbeat timer; this bounds only the
    // wait for the peer to accept the call.
    let accepted = tokio::time::timeout(timings.connect_timeout, client.watch(request))
        .await
        .map_err(|_| LinkError::Connect {
            address,
            reason: format!(
                "no answer to the watch within {:?}",
                timings.connect_timeout
            ),
        })??;
    Ok(accepted.into_inner())
}

/// One message from the peer: an event, or why it is not a valid one.
pub(super) type Received = Result<WatchEvent, ValidationError>;

/// What the importer reads a peer's events from: the peer's gRPC stream, or in tests a
/// queue. `next` must be cancel-safe: the importer polls it in a `select!` and drops it
/// when it is not ready.
pub(super) trait PeerEvents: Send {
    /// The next message, validated; `None` when the peer closed the stream.
    fn next(&mut self) -> impl Future<Output = Result<Option<Received>, LinkError>> + Send;
}

impl PeerEvents for PeerStream {
    async fn next(&mut self) -> Result<Option<Received>, LinkError> {
        Ok(self.message().await?.map(WatchEvent::try_from))
    }
}
