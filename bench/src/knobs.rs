//! Environment overrides for quicker runs while working on one scenario. `make bench`
//! sets none of them: the recorded figures come from the defaults.

use anyhow::Context as _;

/// A comma-separated list of positive counts from `var`, or `default` when unset.
pub fn counts(var: &str, default: &[u32]) -> anyhow::Result<Vec<u32>> {
    let Ok(text) = std::env::var(var) else {
        return Ok(default.to_vec());
    };
    text.split(',')
        .map(|n| {
            n.trim()
                .parse::<u32>()
                .ok()
                .filter(|&n| n > 0)
                .with_context(|| format!("{var}={text:?}: {n:?} is not a positive count"))
        })
        .collect()
}

/// `CLUSTERMESH_BENCH_STORE`: `raft` (the default, as deployed) or `memory`.
pub fn store() -> anyhow::Result<crate::mesh::StoreKind> {
    use crate::mesh::StoreKind;
    match std::env::var("CLUSTERMESH_BENCH_STORE").as_deref() {
        Err(_) | Ok("raft") => Ok(StoreKind::Raft),
        Ok("memory") => Ok(StoreKind::Memory),
        Ok(other) => anyhow::bail!("CLUSTERMESH_BENCH_STORE={other:?}: expected raft or memory"),
    }
}
