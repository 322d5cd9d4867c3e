//! `ctl`, the operator's CLI: contexts, connect, disconnect, status and services.
//!
//! Everything lives in this library so tests drive it in-process: [`run`] is the whole
//! command line, and [`connect::connect`], [`disconnect::disconnect`],
//! [`status::mesh_status`] and [`services::services`] are the operations themselves,
//! for tests of other crates that need a connected mesh.

pub mod cli;
pub mod client;
pub mod connect;
pub mod contexts;
pub mod disconnect;
pub mod drill;
pub mod duration;
pub mod error;
#[cfg(test)]
mod fixtures;
pub mod output;
pub mod services;
pub mod status;

use std::{
    io::{self, IsTerminal},
    process::ExitCode,
};

pub use self::{
    cli::{Cli, run},
    connect::{ConnectOptions, ConnectReport, connect},
    disconnect::disconnect,
    error::CtlError,
    output::Io,
};

/// The binary: the process's arguments and streams. Colour only when stdout is a
/// terminal and `NO_COLOR` is unset; a live progress line only when stderr is one.
pub async fn main() -> ExitCode {
    let (stdout, stderr) = (io::stdout(), io::stderr());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let color = stdout.is_terminal() && !no_color;
    let live = stderr.is_terminal();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        color,
        live,
    };
    ExitCode::from(run(std::env::args_os(), &mut io).await)
}
