//! The `clustermesh-apiserver` binary; everything lives in the library's [`cli`].

use std::process::ExitCode;

use clap::Parser;
use clustermesh_apiserver::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprint!("{}", cli::error_report(&error));
            ExitCode::FAILURE
        }
    }
}
