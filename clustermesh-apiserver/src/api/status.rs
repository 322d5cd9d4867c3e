//! `Admin.GetStatus`: the state of this cluster's export, nodes, peers and store, with
//! the conditions an operator should act on spelled out as warnings.

use clustermesh_proto::{Record, RecordKind, pb};
use tonic::Status;

use super::{ApiContext, errors};
use crate::import::ImportStatus;

/// Lists nothing and is cheap: used to read the store's current revision.
const REVISION_PROBE: &str = "~meta/revision-probe/";

pub(super) async fn get(ctx: &ApiContext) -> Result<pb::GetStatusResponse, Status> {
    let export = ctx.export.borrow().clone();
    let mut warnings = Vec::new();
    if !export.synced {
        warnings.push("the initial export has not completed yet".to_owned());
    }
    if let Some(error) = &export.last_error {
        warnings.push(format!("export failing: {error}"));
    }
    warnings.extend(export.source_errors.iter().map(|e| format!("source: {e}")));
    warnings.extend(export.warnings.iter().map(|w| format!("export: {w}")));

    let mut peers = Vec::new();
    for (cluster, status) in ctx.peers.statuses() {
        if status.reachable == Some(false) {
            warnings.push(format!(
                "peer {} is unreachable: its backends are out of load balancing",
                cluster.name
            ));
        }
        peers.push(peer_status(&cluster, status));
    }

    let nodes = nodes(ctx).await?;
    let revision = ctx
        .store
        .list(REVISION_PROBE)
        .await
        .map_err(errors::store)?
        .revision;
    Ok(pb::GetStatusResponse {
        cluster: Some(ctx.own.borrow().clone().into()),
        peers,
        nodes,
        warnings,
        store: Some(pb::StoreStatus {
            backend: ctx.store.backend().to_owned(),
            revision,
            leader: String::new(),
            members: Vec::new(),
        }),
    })
}

fn peer_status(cluster: &clustermesh_proto::Cluster, status: ImportStatus) -> pb::PeerStatus {
    pb::PeerStatus {
        name: cluster.name.to_string(),
        connected: status.connected,
        reachable: status.reachable == Some(true),
        synced_kinds: status
            .synced_kinds
            .iter()
            .map(|kind| pb::RecordKind::from(*kind).into())
            .collect(),
        last_heartbeat_unix_ms: status.last_heartbeat_unix_ms.unwrap_or(0),
        record_counts: status
            .record_counts
            .iter()
            .map(|(kind, n)| (kind.as_str().to_owned(), *n as u64))
            .collect(),
        last_error: status.last_error.unwrap_or_default(),
        advertise_address: cluster.advertise_address.to_string(),
        rejected_events: status.rejected,
    }
}

/// This cluster's nodes as exported: registered when the agent holds a lease, which is
/// when the export carries its WireGuard details.
async fn nodes(ctx: &ApiContext) -> Result<Vec<pb::NodeStatus>, Status> {
    let records = ctx.records(&ctx.cluster, RecordKind::Node).await?;
    Ok(records
        .into_iter()
        .filter_map(|record| match record {
            Record::Node(node) => Some(node),
            _ => None,
        })
        .map(|node| {
            let heartbeat = ctx.last_heartbeat(node.name.as_str()).unwrap_or_default();
            (node, heartbeat)
        })
        .map(|(node, heartbeat)| pb::NodeStatus {
            name: node.name.to_string(),
            registered: node.wireguard.is_some(),
            last_heartbeat_unix_ms: heartbeat.at_unix_ms,
            tunnels: heartbeat.tunnels,
            wireguard_public_key: node
                .wireguard
                .as_ref()
                .map(|wg| wg.public_key.as_bytes().to_vec())
                .unwrap_or_default(),
            wireguard_endpoint: node
                .wireguard
                .as_ref()
                .and_then(|wg| wg.endpoint)
                .map(|e| e.to_string())
                .unwrap_or_default(),
            zone: node.zone.unwrap_or_default(),
        })
        .collect())
}
