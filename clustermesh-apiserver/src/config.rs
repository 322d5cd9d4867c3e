//! The validated configuration of `clustermesh-apiserver run`.

/// Placeholder until the run flags are parsed and validated here.
#[derive(Debug, Clone)]
pub struct RunConfig {}
