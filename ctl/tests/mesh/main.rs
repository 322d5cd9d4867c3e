//! ctl against real apiservers in-process: each test inits its own clusters with
//! `clustermesh-apiserver init` into its own ctl config, then runs ctl commands
//! exactly as an operator would, through `ctl::run`.

#[path = "../support/mod.rs"]
mod support;

mod connect;
mod disconnect;
mod drill;
mod errors;
mod services;
mod status;
