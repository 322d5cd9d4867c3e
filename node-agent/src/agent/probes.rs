//! The agent's end of `Mesh.Probes`: keeps the stream open (reconnecting with capped
//! backoff), runs each assignment it receives (see [`crate::probe`]) and sends the
//! reports back on the same stream. Runs end when their stream does.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use clustermesh_proto::pb;
use tokio::{
    sync::{mpsc, watch},
    task::JoinSet,
};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Streaming, transport::Channel};
use tracing::Instrument as _;

use crate::plan::LocalNode;
use crate::probe::{self, ConnectionCounters};
use crate::view::MergedView;

const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// Reports queued for the stream before probe runs wait.
const REPORT_BUFFER: usize = 64;

/// What a probe run needs from the agent.
#[derive(Clone)]
pub(super) struct ProbeContext {
    pub counters: Arc<dyn ConnectionCounters>,
    /// For this node's pod CIDRs, which probes take their source address from.
    pub view: watch::Receiver<MergedView>,
    pub me: LocalNode,
}

pub(super) async fn serve(
    channel: Channel,
    context: ProbeContext,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut client = pb::mesh_client::MeshClient::new(channel);
    let mut retry = RETRY_MIN;
    loop {
        let (reports, outbound) = mpsc::channel(REPORT_BUFFER);
        let opened = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            opened = client.probes(ReceiverStream::new(outbound)) => opened,
        };
        match opened {
            Ok(assignments) => {
                retry = RETRY_MIN;
                follow(assignments.into_inner(), reports, &context, &shutdown).await;
            }
            // An older apiserver: no drills, nothing else is affected.
            Err(status) if status.code() == Code::Unimplemented => {
                tracing::info!("the apiserver does not relay probes; drills cannot use this node");
                retry = RETRY_MAX;
            }
            Err(status) => {
                tracing::debug!(code = ?status.code(), message = status.message(), "probe stream failed")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Runs assignments until the stream ends; then stops every run it started.
async fn follow(
    mut assignments: Streaming<pb::ProbeAssignment>,
    reports: mpsc::Sender<pb::ProbeReport>,
    context: &ProbeContext,
    shutdown: &CancellationToken,
) {
    let stream_gone = shutdown.child_token();
    let mut runs = JoinSet::new();
    let mut cancels = BTreeMap::<u64, CancellationToken>::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            Some(finished) = runs.join_next() => {
                if let Ok(run_id) = finished {
                    cancels.remove(&run_id);
                }
            }
            next = assignments.message() => match next {
                Ok(Some(assignment)) if assignment.cancel => {
                    if let Some(cancel) = cancels.remove(&assignment.run_id) {
                        cancel.cancel();
                    }
                }
                Ok(Some(assignment)) => {
                    let run_id = assignment.run_id;
                    let cancel = stream_gone.child_token();
                    cancels.insert(run_id, cancel.clone());
                    tracing::info!(run = run_id, target = %assignment.target, rate = assignment.rate_per_second, "probe run started");
                    let cidrs = context
                        .view
                        .borrow()
                        .node(&context.me.cluster, &context.me.node)
                        .map(|node| node.pod_cidrs.clone())
                        .unwrap_or_default();
                    let source = probe::source::inside(&cidrs).await;
                    let run = probe::run(
                        assignment,
                        source,
                        context.counters.clone(),
                        reports.clone(),
                        cancel,
                    );
                    runs.spawn(
                        async move {
                            run.await;
                            run_id
                        }
                        .instrument(tracing::info_span!("probe", run = run_id)),
                    );
                }
                Ok(None) => break,
                Err(status) => {
                    tracing::debug!(code = ?status.code(), message = status.message(), "probe stream ended");
                    break;
                }
            },
        }
    }
    stream_gone.cancel();
    while runs.join_next().await.is_some() {}
}
