//! Disaster-recovery drills, server side: faults injected into this cluster
//! ([`Faults`]) and probe runs relayed between `ctl` and this cluster's agents
//! ([`ProbeHub`]). Both live in memory only: a drill is short, and a restarted
//! apiserver has no fault in force, which is the safe default.

mod faults;
mod probe_hub;

pub use faults::{Fault, FaultError, FaultSet, Faults, MAX_FAULT_TTL, ServiceRef};
pub use probe_hub::{AgentAttachment, HubError, ProbeHub, RunHandle};

#[cfg(test)]
mod tests;
