//! `ctl services`: every global service one cluster knows, with each cluster's
//! backends, their health, and which ones this cluster's node agents select now.

mod render;
mod report;
pub mod select;

use clustermesh_proto::client_config::Context;

pub use self::{
    render::render,
    report::{
        BackendReport, ClusterBackendsReport, FrontendReport, LocalLeases, PortReport,
        ServiceReport, ServicesReport, TargetReport, service_report,
    },
};
use crate::{
    client::{Admin, Timeouts},
    error::CtlError,
};

/// Asks the apiserver of `context` for its global services (in `namespace`, or all)
/// and its node leases, and applies the backend selection.
pub async fn services(
    context: &Context,
    namespace: Option<&str>,
    timeouts: Timeouts,
) -> Result<ServicesReport, CtlError> {
    let admin = Admin::connect(context, timeouts).await?;
    let (views, status) = tokio::try_join!(
        admin.global_services(namespace.unwrap_or_default()),
        admin.status()
    )?;
    let own = status
        .cluster
        .as_ref()
        .map_or_else(|| context.cluster.to_string(), |c| c.name.clone());
    let leases: LocalLeases = status
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.registered))
        .collect();
    let services = views
        .into_iter()
        .map(|view| service_report(&own, view, &leases))
        .collect::<Result<_, _>>()
        .map_err(|reason| admin.bad_answer("ListGlobalServices", reason))?;
    Ok(ServicesReport {
        context: context.name.to_string(),
        cluster: own,
        services,
    })
}

#[cfg(test)]
mod tests;
