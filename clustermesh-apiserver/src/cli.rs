//! The `clustermesh-apiserver` command line: `init` creates a cluster's data directory
//! and ctl context, `issue-cert` issues agent and admin certificates, `run` serves.

pub mod init;
mod issue_cert;

use std::io;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

pub use self::{init::InitArgs, issue_cert::IssueCertArgs};
use crate::config::{LogFormat, RunArgs};

/// The per-cluster clustermesh control plane.
#[derive(Debug, Parser)]
#[command(name = "clustermesh-apiserver", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new cluster's data directory (CA, serving and admin certificates) and
    /// add a ctl context for it.
    Init(InitArgs),
    /// Issue a certificate for a node agent or an admin from the cluster's CA.
    IssueCert(IssueCertArgs),
    /// Run the apiserver.
    Run(RunArgs),
}

impl Cli {
    /// Runs the chosen command; `run` returns only when the apiserver stops.
    pub async fn run(self) -> anyhow::Result<()> {
        clustermesh_proto::tls::install_crypto_provider();
        match self.command {
            Command::Init(args) => init::run(args, &mut io::stdout().lock()),
            Command::IssueCert(args) => issue_cert::run(args, &mut io::stdout().lock()),
            Command::Run(args) => {
                // Validated before logging starts: a refusal is one message on stderr,
                // in the same form whatever --log-format says.
                let config = args.validate()?;
                init_tracing(config.log_format)?;
                crate::server::run(config).await
            }
        }
    }
}

/// `error: <error>` followed by one `  caused by: <cause>` line per source.
pub fn error_report(error: &anyhow::Error) -> String {
    let mut report = format!("error: {error}\n");
    for cause in error.chain().skip(1) {
        report.push_str(&format!("  caused by: {cause}\n"));
    }
    report
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). A malformed `RUST_LOG` is
/// an error rather than silently logging something else.
fn init_tracing(format: LogFormat) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .with_context(|| format!("RUST_LOG={directives:?} is not a valid log filter"))?,
        Err(_) => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("installing the log subscriber: {e}"))
}
