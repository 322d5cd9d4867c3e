//! The mTLS channel to the local apiserver: the cluster CA, the agent certificate, and
//! the apiserver's fixed TLS name, whatever address is dialled.

use std::time::Duration;

use anyhow::Context as _;
use clustermesh_proto::tls;
use tonic::transport::{Channel, Endpoint};

use crate::config::AgentConfig;

pub(super) async fn connect(config: &AgentConfig) -> anyhow::Result<Channel> {
    let server_name = tls::apiserver_server_name(&config.cluster);
    let tls = tls::client_tls(
        &config.ca_pem,
        &config.cert_pem,
        &config.key_pem,
        &server_name,
    )
    .context("agent TLS settings")?;
    let endpoint = Endpoint::from_shared(format!("https://{}", config.apiserver))
        .context("--apiserver")?
        .tls_config(tls)
        .context("agent TLS settings")?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(5));
    // Lazy: an apiserver that is down at start is retried by the tasks, not fatal.
    Ok(endpoint.connect_lazy())
}
