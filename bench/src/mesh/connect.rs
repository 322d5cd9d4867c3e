//! Joining in-process clusters the way an operator does: `ctl connect`'s own code,
//! given a client config whose contexts point at them.

use std::path::Path;

use anyhow::Context as _;
use clustermesh_proto::client_config::{ClientConfig, Context};
use ctl::connect::ConnectOptions;

use super::MeshCluster;

/// A `ctl` config with one admin context per cluster, its files under `dir`.
pub fn client_config(clusters: &[&MeshCluster], dir: &Path) -> anyhow::Result<ClientConfig> {
    let mut config = ClientConfig::default();
    for cluster in clusters {
        let [ca, cert, key] = cluster.write_admin_files(dir)?;
        config.upsert_context(Context {
            name: cluster.name.clone(),
            server: cluster
                .addr
                .to_string()
                .parse()
                .context("apiserver address")?,
            cluster: cluster.name.clone(),
            certificate_authority: ca,
            client_certificate: cert,
            client_key: key,
        });
    }
    Ok(config)
}

/// `ctl connect --context a --destination-context b`, waiting until both links are
/// connected, reachable and synced.
pub async fn connect(
    config: &ClientConfig,
    a: &MeshCluster,
    b: &MeshCluster,
) -> anyhow::Result<()> {
    let options = ConnectOptions {
        wait: true,
        ..ConnectOptions::default()
    };
    ctl::connect::connect(
        config,
        a.name.as_str(),
        b.name.as_str(),
        &options,
        &mut |_| {},
    )
    .await
    .with_context(|| format!("connecting {} and {}", a.name, b.name))?;
    Ok(())
}
