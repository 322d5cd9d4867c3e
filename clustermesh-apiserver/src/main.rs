//! The `clustermesh-apiserver` binary; everything lives in the library's [`cli`].

use std::process::ExitCode;

use clap::Parser;
use clustermesh_apiserver::cli::{self, Cli};

/// Every record passes through the apiserver as many short-lived buffers (decode,
/// mirror, raft log entry, apply, feed), from several threads; glibc's malloc spent a
/// third of the CPU of a churn profile, and zeroed fresh pages for each large log entry.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(error) = clustermesh_apiserver::huge_pages::disable() {
        eprintln!("warning: transparent huge pages stay on: {error}");
    }
    match Cli::parse().run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprint!("{}", cli::error_report(&error));
            ExitCode::FAILURE
        }
    }
}
