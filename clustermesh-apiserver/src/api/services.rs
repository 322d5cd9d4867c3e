//! `Admin.ListGlobalServices`: every global service this cluster knows, with each
//! cluster's backends and whether that cluster is currently reachable.

use std::collections::BTreeMap;

use clustermesh_proto::{ClusterName, GlobalService, Record, RecordKind, pb};
use tonic::Status;

use super::ApiContext;

pub(super) async fn list(
    ctx: &ApiContext,
    namespace: &str,
) -> Result<pb::ListGlobalServicesResponse, Status> {
    let mut clusters = vec![(ctx.cluster.clone(), true)];
    for (peer, status) in ctx.peers.statuses() {
        clusters.push((peer.name, status.reachable == Some(true)));
    }
    let mut by_service: BTreeMap<(String, String), Vec<(GlobalService, bool)>> = BTreeMap::new();
    for (cluster, reachable) in clusters {
        for service in services_of(ctx, &cluster).await? {
            if namespace.is_empty() || service.namespace.as_str() == namespace {
                let key = (service.namespace.to_string(), service.name.to_string());
                by_service
                    .entry(key)
                    .or_default()
                    .push((service, reachable));
            }
        }
    }
    let services = by_service
        .into_iter()
        .map(|((namespace, name), copies)| view(&ctx.cluster, namespace, name, copies))
        .collect();
    Ok(pb::ListGlobalServicesResponse { services })
}

async fn services_of(
    ctx: &ApiContext,
    cluster: &ClusterName,
) -> Result<Vec<GlobalService>, Status> {
    let records = ctx.records(cluster, RecordKind::GlobalService).await?;
    Ok(records
        .into_iter()
        .filter_map(|record| match record {
            Record::GlobalService(service) => Some(service),
            _ => None,
        })
        .collect())
}

/// The service as seen from `own`: its VIP, ports and affinity are the local ones
/// when the service exists here, else the first remote copy's (without a VIP).
fn view(
    own: &ClusterName,
    namespace: String,
    name: String,
    copies: Vec<(GlobalService, bool)>,
) -> pb::GlobalServiceView {
    let local = copies
        .iter()
        .find(|(s, _)| s.cluster == *own)
        .map(|(s, _)| s);
    let template = local.or_else(|| copies.first().map(|(s, _)| s));
    let ports = template
        .map(|s| s.ports.iter().cloned().map(Into::into).collect())
        .unwrap_or_default();
    let affinity = template.map_or(pb::Affinity::None, |s| s.affinity.into());
    pb::GlobalServiceView {
        namespace,
        name,
        vip: local
            .and_then(|s| s.vip)
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
        ports,
        affinity: affinity.into(),
        clusters: copies
            .into_iter()
            .map(|(service, reachable)| pb::ClusterBackends {
                cluster: service.cluster.to_string(),
                shared: service.shared,
                reachable,
                backends: service.backends.into_iter().map(Into::into).collect(),
            })
            .collect(),
    }
}
