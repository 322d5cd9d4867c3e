//! `node-agent run` and `node-agent cleanup`.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config::RunArgs;

#[derive(Debug, Parser)]
#[command(
    name = "node-agent",
    about = "The clustermesh node agent: tunnels, routes, load balancing"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register the node and program the dataplane until SIGINT or SIGTERM.
    Run(Box<RunArgs>),
    /// Remove everything the agent programmed: WireGuard device, routes, nftables table.
    Cleanup {
        #[arg(long, env = "CLUSTERMESH_WG_INTERFACE", default_value = "cmwg0")]
        wg_interface: String,
    },
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        clustermesh_proto::tls::install_crypto_provider();
        match self.command {
            Command::Run(args) => {
                let config = (*args).validate()?;
                tracing_subscriber::fmt()
                    .with_env_filter(
                        tracing_subscriber::EnvFilter::try_from_default_env()
                            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                    )
                    .with_writer(std::io::stderr)
                    .init();
                let shutdown = CancellationToken::new();
                let signals = shutdown.clone();
                tokio::spawn(async move {
                    wait_for_signal().await;
                    signals.cancel();
                });
                crate::agent::run(config, shutdown).await
            }
            Command::Cleanup { wg_interface } => {
                crate::nft::NftServices::new()
                    .cleanup()
                    .await
                    .context("nftables table")?;
                crate::routes::NetlinkRoutes::new(&wg_interface)
                    .context("routes")?
                    .cleanup()
                    .await
                    .context("routes")?;
                crate::wireguard::cleanup(&wg_interface, Duration::from_secs(5))
                    .await
                    .context("WireGuard device")?;
                Ok(())
            }
        }
    }
}

async fn wait_for_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
