//! The clustermesh node agent: one per node. It watches the local apiserver, plans the
//! desired dataplane with a pure planner and applies it through executors (WireGuard,
//! routes, nftables). The crate is reserved in the workspace; its code lands with the
//! node-agent work.
