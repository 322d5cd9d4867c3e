//! Metrics, health and readiness over HTTP.
//!
//! [`Metrics`] owns the Prometheus registry and exposes typed setters, so callers never
//! touch label sets or metric families. [`Health`] aggregates named readiness conditions
//! that the runtime reports through a [`HealthReporter`]. [`serve`] puts both behind
//! `GET /metrics`, `/healthz` and `/readyz` on a listener the caller has already bound.

mod endpoints;
mod metrics;
mod readiness;
#[cfg(test)]
mod tests;

pub use endpoints::{OPENMETRICS_CONTENT_TYPE, serve};
pub use metrics::{Metrics, WatchClientGuard};
pub use readiness::{Health, HealthReporter, NotReady, Readiness};
