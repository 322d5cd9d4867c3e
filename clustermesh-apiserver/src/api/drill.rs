//! The drill RPCs: `Admin.RunProbes`, `Admin.InjectFault`, `Admin.ClearFault` and
//! the agents' `Mesh.Probes` stream (see drill.proto).

use std::pin::Pin;
use std::time::Duration;

use clustermesh_proto::{GlobalService, Protocol, Record, RecordKind, pb};
use futures::{Stream, StreamExt as _};
use tonic::{Status, Streaming};

use super::ApiContext;
use crate::drill::{Fault, FaultError, HubError, MAX_FAULT_TTL, ServiceRef};

/// Probe rates above this are refused: a drill measures, it does not load-test.
pub const MAX_PROBE_RATE: u32 = 1000;

pub(super) type ReportStream = Pin<Box<dyn Stream<Item = Result<pb::ProbeReport, Status>> + Send>>;
pub(super) type AssignmentStream =
    Pin<Box<dyn Stream<Item = Result<pb::ProbeAssignment, Status>> + Send>>;

pub(super) async fn run_probes(
    ctx: &ApiContext,
    msg: pb::RunProbesRequest,
) -> Result<ReportStream, Status> {
    if msg.rate_per_second == 0 || msg.rate_per_second > MAX_PROBE_RATE {
        return Err(Status::invalid_argument(format!(
            "rate_per_second must be 1 to {MAX_PROBE_RATE} (got {})",
            msg.rate_per_second
        )));
    }
    let duration = Duration::from_millis(msg.duration_ms);
    if duration.is_zero() || duration > MAX_FAULT_TTL {
        return Err(Status::invalid_argument(format!(
            "duration_ms must be 1 to {} (got {})",
            MAX_FAULT_TTL.as_millis(),
            msg.duration_ms
        )));
    }
    let service = own_service(ctx, &msg.namespace, &msg.name).await?;
    let target = probe_target(&service).ok_or_else(|| {
        Status::failed_precondition(format!(
            "{}/{} has no ClusterIP and TCP port in cluster {} to probe",
            msg.namespace, msg.name, ctx.cluster
        ))
    })?;
    let candidates = registered_nodes(ctx).await?;
    let assignment = pb::ProbeAssignment {
        run_id: 0,
        target,
        service: format!("{}/{}", msg.namespace, msg.name),
        rate_per_second: msg.rate_per_second,
        duration_ms: msg.duration_ms,
        cancel: false,
    };
    let node = (!msg.node.is_empty()).then_some(msg.node.as_str());
    let handle = ctx
        .probes
        .start(node, &candidates, assignment)
        .await
        .map_err(|e| match e {
            HubError::NoAgent | HubError::NodeNotAttached(_) => {
                Status::failed_precondition(e.to_string())
            }
        })?;
    tracing::info!(run = handle.run_id, node = %handle.node, "probe run started");
    let reports = futures::stream::unfold(handle, |mut handle| async move {
        let report = handle.reports.recv().await?;
        Some((Ok(report), handle))
    });
    Ok(Box::pin(reports))
}

pub(super) async fn inject_fault(
    ctx: &ApiContext,
    msg: pb::InjectFaultRequest,
) -> Result<pb::InjectFaultResponse, Status> {
    let fault = match pb::FaultKind::try_from(msg.kind) {
        Ok(pb::FaultKind::Backends) => {
            own_service(ctx, &msg.namespace, &msg.name).await?;
            Fault::Backends(ServiceRef {
                namespace: msg.namespace,
                name: msg.name,
            })
        }
        Ok(pb::FaultKind::Cluster) => Fault::Cluster,
        _ => {
            return Err(Status::invalid_argument(
                "kind: expected BACKENDS or CLUSTER",
            ));
        }
    };
    let (fault_id, deadline) = ctx
        .faults
        .inject(fault, Duration::from_millis(msg.ttl_ms))
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    Ok(pb::InjectFaultResponse {
        fault_id,
        expires_unix_ms: crate::clock::now_ms() + left.as_millis() as i64,
    })
}

pub(super) fn clear_fault(
    ctx: &ApiContext,
    msg: pb::ClearFaultRequest,
) -> Result<pb::ClearFaultResponse, Status> {
    match ctx.faults.clear(msg.fault_id) {
        Ok(cleared) => Ok(pb::ClearFaultResponse {
            cleared: cleared as u32,
        }),
        Err(e @ FaultError::NotFound(_)) => Err(Status::not_found(e.to_string())),
        Err(e) => Err(Status::invalid_argument(e.to_string())),
    }
}

/// An agent's probe stream: assignments out, its reports relayed to the runs.
pub(super) fn probes(
    ctx: &ApiContext,
    node: &str,
    reports: Streaming<pb::ProbeReport>,
) -> AssignmentStream {
    let attachment = ctx.probes.attach(node);
    let hub = ctx.probes.clone();
    let node = node.to_owned();
    let assignments = futures::stream::unfold(attachment, |mut attachment| async move {
        let assignment = attachment.assignments.recv().await?;
        Some((Ok(assignment), attachment))
    });
    // Polled with the assignments, so no task of its own: relaying yields nothing.
    let relay = reports.filter_map(move |report| {
        let (hub, node) = (hub.clone(), node.clone());
        async move {
            match report {
                Ok(mut report) => {
                    report.node = node;
                    hub.deliver(report).await;
                }
                Err(status) => tracing::debug!(%status, node, "probe stream from agent ended"),
            }
            None
        }
    });
    let shutdown = ctx.shutdown.clone();
    Box::pin(
        futures::stream::select(assignments, relay)
            .take_until(async move { shutdown.cancelled().await }),
    )
}

/// `namespace/name` among this cluster's exported global services.
async fn own_service(
    ctx: &ApiContext,
    namespace: &str,
    name: &str,
) -> Result<GlobalService, Status> {
    ctx.records(&ctx.cluster, RecordKind::GlobalService)
        .await?
        .into_iter()
        .find_map(|record| match record {
            Record::GlobalService(s)
                if s.namespace.as_str() == namespace && s.name.as_str() == name =>
            {
                Some(s)
            }
            _ => None,
        })
        .ok_or_else(|| {
            Status::not_found(format!(
                "{namespace}/{name} is not a global service of cluster {}",
                ctx.cluster
            ))
        })
}

/// `vip:port` of the service's first TCP port.
fn probe_target(service: &GlobalService) -> Option<String> {
    let vip = service.vip?;
    let port = service.ports.iter().find(|p| p.protocol == Protocol::Tcp)?;
    Some(std::net::SocketAddr::new(vip, port.port.get()).to_string())
}

/// Nodes whose agents hold a live lease, the preferred probers.
async fn registered_nodes(ctx: &ApiContext) -> Result<Vec<String>, Status> {
    Ok(ctx
        .records(&ctx.cluster, RecordKind::Node)
        .await?
        .into_iter()
        .filter_map(|record| match record {
            Record::Node(n) if n.wireguard.is_some() => Some(n.name.to_string()),
            _ => None,
        })
        .collect())
}
