//! Readiness: the agent is ready once it holds a node lease, its view holds a complete
//! snapshot and its last apply succeeded. Liveness is answering at all.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    /// The apiserver granted a node lease and it is being kept alive.
    Registered,
    /// The merged view holds a complete snapshot of every cluster.
    ViewSynced,
    /// The last reconciliation applied without error.
    DataplaneApplied,
}

impl Condition {
    const ALL: [Self; 3] = [Self::Registered, Self::ViewSynced, Self::DataplaneApplied];

    fn describe(self) -> &'static str {
        match self {
            Self::Registered => "node registered with a live lease",
            Self::ViewSynced => "merged view synced",
            Self::DataplaneApplied => "dataplane applied",
        }
    }
}

/// Shared by the tasks that set conditions and the server that reports them.
#[derive(Debug, Clone, Default)]
pub struct Health {
    met: Arc<Mutex<[bool; 3]>>,
}

impl Health {
    pub fn set(&self, condition: Condition, met: bool) {
        self.lock()[condition as usize] = met;
    }

    pub fn is_ready(&self) -> bool {
        self.lock().iter().all(|met| *met)
    }

    /// One line per condition, unmet ones first, for the `/readyz` body.
    pub fn report(&self) -> String {
        let met = *self.lock();
        let mut conditions: Vec<_> = Condition::ALL
            .into_iter()
            .map(|c| (met[c as usize], c))
            .collect();
        conditions.sort();
        conditions
            .into_iter()
            .map(|(ok, c)| format!("{} {}\n", if ok { "[+]" } else { "[-]" }, c.describe()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, [bool; 3]> {
        self.met.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.report())
    }
}
