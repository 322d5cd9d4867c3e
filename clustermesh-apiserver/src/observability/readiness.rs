//! Named readiness conditions, set by the runtime and read by `/readyz`.

use std::collections::BTreeMap;
use std::fmt;

use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    ready: bool,
    reason: Option<String>,
}

type Conditions = BTreeMap<String, Condition>;

/// Reads readiness. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Health {
    rx: watch::Receiver<Conditions>,
}

/// Sets readiness conditions. Cheap to clone; when every clone is gone, the process is
/// no longer ready, since nothing can report a failure any more.
#[derive(Debug, Clone)]
pub struct HealthReporter {
    tx: watch::Sender<Conditions>,
}

/// One condition that is not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub name: String,
    pub reason: Option<String>,
}

/// A snapshot of readiness: ready when no condition is false. Its `Display` is the
/// `/readyz` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub not_ready: Vec<NotReady>,
}

impl Health {
    /// No conditions yet: register each one (see [`HealthReporter::register`]) before
    /// serving, so one that has not reported yet holds readiness back.
    pub fn new() -> (Health, HealthReporter) {
        let (tx, rx) = watch::channel(Conditions::new());
        (Health { rx }, HealthReporter { tx })
    }

    pub fn readiness(&self) -> Readiness {
        let closed = self.rx.has_changed().is_err();
        let conditions = self.rx.borrow();
        let mut not_ready: Vec<NotReady> = conditions
            .iter()
            .filter(|(_, c)| !c.ready)
            .map(|(name, c)| NotReady {
                name: name.clone(),
                reason: c.reason.clone(),
            })
            .collect();
        if closed {
            not_ready.push(NotReady {
                name: "health".to_owned(),
                reason: Some("every reporter was dropped".to_owned()),
            });
        }
        Readiness { not_ready }
    }

    pub fn is_ready(&self) -> bool {
        self.readiness().is_ready()
    }

    /// Waits until every condition is ready. False if every reporter was dropped first.
    pub async fn wait_ready(&self) -> bool {
        let mut rx = self.rx.clone();
        let all_ready = rx.wait_for(|c| c.values().all(|c| c.ready)).await.is_ok();
        // `wait_for` accepts a ready value even after the reporters are gone; `readiness`
        // does not, and the two must agree.
        all_ready && rx.has_changed().is_ok()
    }
}

impl HealthReporter {
    /// Adds `name` as not ready (reason `starting`) unless it is already known.
    pub fn register(&self, name: &str) {
        self.tx.send_if_modified(|conditions| {
            if conditions.contains_key(name) {
                return false;
            }
            let starting = Condition {
                ready: false,
                reason: Some("starting".to_owned()),
            };
            conditions.insert(name.to_owned(), starting);
            true
        });
    }

    /// Sets `name`, registering it if needed, and clears its reason.
    pub fn set_ready(&self, name: &str, ready: bool) {
        self.set(
            name,
            Condition {
                ready,
                reason: None,
            },
        );
    }

    /// Marks `name` not ready and says why (shown by `/readyz`).
    pub fn set_not_ready(&self, name: &str, reason: impl Into<String>) {
        let reason = Some(reason.into());
        self.set(
            name,
            Condition {
                ready: false,
                reason,
            },
        );
    }

    fn set(&self, name: &str, next: Condition) {
        // Only real changes wake `wait_ready`.
        self.tx
            .send_if_modified(|conditions| match conditions.get_mut(name) {
                Some(current) if *current == next => false,
                Some(current) => {
                    *current = next;
                    true
                }
                None => {
                    conditions.insert(name.to_owned(), next);
                    true
                }
            });
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.not_ready.is_empty()
    }
}

impl fmt::Display for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ready() {
            return f.write_str("ok\n");
        }
        for NotReady { name, reason } in &self.not_ready {
            match reason {
                Some(reason) => writeln!(f, "{name}: not ready: {reason}")?,
                None => writeln!(f, "{name}: not ready")?,
            }
        }
        Ok(())
    }
}
