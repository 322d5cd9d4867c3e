//! What the agent tells operators and probes: `/metrics` (tunnel peers and handshake
//! ages, routes, services, backends per cluster, plan and apply durations, apply
//! errors), `/healthz` and `/readyz`, and the tunnel report its heartbeats carry to
//! `ctl status`.

mod health;
mod metrics;
mod server;
mod status;

pub use health::{Condition, Health};
pub use metrics::AgentMetrics;
pub use server::serve;
pub use status::{DataplaneStatus, PeerStatus, TUNNEL_UP_WITHIN};

#[cfg(test)]
mod tests;
