//! `ctl disconnect`: each side stops importing the other and drops its cached records.
//! A side that did not import the other (NOT_FOUND) is reported, not fatal, so a
//! half-connected pair can be cleaned up.

use clustermesh_proto::client_config::ClientConfig;
use serde::Serialize;
use tonic::Code;

use crate::{
    client::{Admin, Timeouts},
    error::CtlError,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisconnectReport {
    pub a: String,
    pub b: String,
    pub removals: Vec<RemovalReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovalReport {
    /// Context of the cluster that stops importing.
    pub importer: String,
    /// The cluster it stops importing.
    pub peer: String,
    /// "removed", or "not_found" when it did not import that peer.
    pub outcome: String,
}

/// Both sides are reached before either changes, so an unreachable one leaves the
/// pair as it was.
pub async fn disconnect(
    config: &ClientConfig,
    a: &str,
    b: &str,
    timeouts: Timeouts,
) -> Result<DisconnectReport, CtlError> {
    if a == b {
        return Err(CtlError::Usage(format!(
            "--context and --destination-context both name {a}"
        )));
    }
    let (ctx_a, ctx_b) = (config.context(Some(a))?, config.context(Some(b))?);
    let (admin_a, admin_b) = tokio::try_join!(
        Admin::connect(ctx_a, timeouts),
        Admin::connect(ctx_b, timeouts)
    )?;
    // The server name of each context's TLS check is its cluster, so these are the
    // names the apiservers know each other by.
    let mut removals = Vec::new();
    for (importer, peer) in [(&admin_a, &ctx_b.cluster), (&admin_b, &ctx_a.cluster)] {
        let outcome = match importer.remove_peer(peer.as_str()).await {
            Ok(()) => "removed",
            Err(e) if e.answered() == Some(Code::NotFound) => "not_found",
            Err(e) => return Err(e),
        };
        removals.push(RemovalReport {
            importer: importer.context().to_owned(),
            peer: peer.to_string(),
            outcome: outcome.to_owned(),
        });
    }
    Ok(DisconnectReport {
        a: a.to_owned(),
        b: b.to_owned(),
        removals,
    })
}

pub fn render(report: &DisconnectReport) -> Vec<String> {
    let mut lines: Vec<String> = report
        .removals
        .iter()
        .map(|r| match r.outcome.as_str() {
            "removed" => format!("{} no longer imports {}", r.importer, r.peer),
            _ => format!("{} did not import {} (not found)", r.importer, r.peer),
        })
        .collect();
    let removed = report.removals.iter().any(|r| r.outcome == "removed");
    lines.push(match removed {
        true => format!("disconnected {} and {}", report.a, report.b),
        false => format!(
            "{} and {} were not connected; nothing changed",
            report.a, report.b
        ),
    });
    lines
}
