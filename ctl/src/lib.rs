//! `ctl`, the operator's CLI: contexts, connect, status, services and failover drills.
//! The crate is reserved in the workspace; its commands land with the ctl work.
