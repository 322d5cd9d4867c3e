//! The command line: clap definitions and the entry point that turns arguments into
//! an exit status. Usage errors exit 2, failures, unhealthy meshes and failed drills 1.

mod commands;

use std::{ffi::OsString, path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

use crate::{
    drill::{FaultKind, parse_service},
    duration::parse_duration,
    error::{CtlError, EXIT_USAGE},
    output::{Format, Io},
};

/// Operate a clustermesh: contexts, connect, disconnect, status, services and drills.
#[derive(Debug, Parser)]
#[command(name = "ctl", version, propagate_version = true)]
pub struct Cli {
    /// The ctl config file, as written by `clustermesh-apiserver init` [default:
    /// ~/.config/clustermesh/config.yaml]
    #[arg(long, global = true, env = "CLUSTERMESH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Output format: aligned tables, or JSON with stable snake_case fields.
    #[arg(
        short = 'o',
        long = "output",
        global = true,
        value_enum,
        default_value_t = Format::Table,
        env = "CLUSTERMESH_OUTPUT"
    )]
    pub output: Format,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The contexts of the ctl config.
    #[command(subcommand)]
    Context(ContextCommand),
    /// Connect two clusters both ways, after checking they can be.
    Connect(PairArgs),
    /// Disconnect two clusters both ways.
    Disconnect(DisconnectArgs),
    /// The health of each cluster: apiserver, peers, node agents, store.
    Status(StatusArgs),
    /// Global services with their backends per cluster, and which are selected.
    Services(ServicesArgs),
    /// Disaster-recovery drills on real traffic.
    #[command(subcommand)]
    Drill(DrillCommand),
}

#[derive(Debug, Subcommand)]
pub enum DrillCommand {
    /// Fault one cluster under probe traffic from the others; measure recovery and
    /// failback. The fault is always restored, also on Ctrl-C or an error.
    Failover(FailoverArgs),
}

#[derive(Debug, clap::Args)]
pub struct FailoverArgs {
    /// The cluster to fault.
    #[arg(long, value_name = "NAME")]
    pub context: String,
    /// The global service to drill.
    #[arg(long, value_name = "NAMESPACE/NAME", value_parser = parse_service)]
    pub service: (String, String),
    /// What to break in that cluster.
    #[arg(long, value_enum, default_value_t = FaultKind::Backends)]
    pub fault: FaultKind,
    /// The longest wait for recovery after the fault, and for failback after the
    /// restore (at most 4m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Probes per second from each probing cluster (1 to 1000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub rate: u32,
    /// Give up starting the probes, or retrying the restore, after this long.
    #[arg(long, default_value = "2m", value_parser = parse_duration, env = "CLUSTERMESH_TIMEOUT")]
    pub timeout: Duration,
    /// Also write the timeline as an SVG image to this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the contexts, their apiserver address, and which is current.
    List,
}

#[derive(Debug, clap::Args)]
pub struct PairArgs {
    /// One cluster's context.
    #[arg(long, value_name = "NAME")]
    pub context: String,
    /// The other cluster's context.
    #[arg(long, value_name = "NAME")]
    pub destination_context: String,
    /// Wait until both sides report the link connected, reachable and synced.
    #[arg(long)]
    pub wait: bool,
    /// Give up after this long, retries and --wait included (like 90s, 2m).
    #[arg(long, default_value = "2m", value_parser = parse_duration, env = "CLUSTERMESH_TIMEOUT")]
    pub timeout: Duration,
}

#[derive(Debug, clap::Args)]
pub struct DisconnectArgs {
    /// One cluster's context.
    #[arg(long, value_name = "NAME")]
    pub context: String,
    /// The other cluster's context.
    #[arg(long, value_name = "NAME")]
    pub destination_context: String,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Only this context [default: every context of the config]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Poll until healthy, or until --timeout.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this long (like 90s, 2m).
    #[arg(long, default_value = "2m", value_parser = parse_duration, env = "CLUSTERMESH_TIMEOUT")]
    pub timeout: Duration,
}

#[derive(Debug, clap::Args)]
pub struct ServicesArgs {
    /// The cluster whose view to show [default: the current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Only services of this namespace.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// Parses `args` (program name first) and runs the command, writing to `io`; returns
/// the exit status. Never panics on bad input.
pub async fn run<I, T>(args: I, io: &mut Io<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            let stream = if e.use_stderr() {
                &mut *io.err
            } else {
                &mut *io.out
            };
            let _ = write!(stream, "{text}");
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    match commands::execute(cli, io).await {
        Ok(code) => code,
        Err(e) => {
            report(&e, io);
            e.exit_code()
        }
    }
}

/// `error: ...` and, when there is one, `hint: ...` on stderr.
fn report(error: &CtlError, io: &mut Io<'_>) {
    let _ = writeln!(io.err, "error: {error}");
    if let Some(hint) = error.hint() {
        let _ = writeln!(io.err, "hint: {hint}");
    }
}

#[cfg(test)]
mod tests;
