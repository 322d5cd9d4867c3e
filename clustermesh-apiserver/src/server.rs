//! Assembles a running apiserver from a validated [`RunConfig`].

use crate::config::RunConfig;

/// Runs until interrupted.
pub async fn run(_config: RunConfig) -> anyhow::Result<()> {
    anyhow::bail!("the apiserver runtime is not assembled yet")
}
