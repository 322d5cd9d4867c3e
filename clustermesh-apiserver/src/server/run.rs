//! `clustermesh-apiserver run`: load the data directory, open the store and the source,
//! bind, and serve until SIGINT or SIGTERM.

use crate::config::RunConfig;

/// Runs until interrupted.
pub async fn run(_config: RunConfig) -> anyhow::Result<()> {
    anyhow::bail!("the apiserver runtime is not assembled yet")
}
