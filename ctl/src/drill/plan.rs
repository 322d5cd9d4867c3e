//! Before anything is broken: which clusters probe, and whether the drill is safe and
//! meaningful. The checks are pure ([`check_target`], [`assess`]) over the answers of
//! GetStatus and ListGlobalServices; [`prepare`] only gathers those answers.
//!
//! A probing cluster is another context of the config that imports the target, defines
//! the service with a VIP, and sends some of its traffic to the target's backends now
//! (the selection `ctl services` shows). The drill is refused when one of them would
//! have no backend left once the fault is in: its clients would lose the service.

use clustermesh_proto::{client_config::ClientConfig, pb};
use futures::future::join_all;

use super::{DrillError, FailoverOptions, FaultKind, report::SkippedReport};
use crate::{
    client::Admin,
    error::CtlError,
    services::{LocalLeases, ServiceReport, service_report},
};

/// Who does what in the drill.
pub struct Plan {
    pub context: String,
    pub cluster: String,
    pub target: Admin,
    pub probers: Vec<Prober>,
    pub skipped: Vec<SkippedReport>,
}

pub struct Prober {
    pub context: String,
    pub cluster: String,
    pub api: Admin,
}

/// What to do with one other cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Probe,
    /// It cannot take part; the drill goes on without it.
    Skip(String),
    /// The drill must not run.
    Refuse(String),
}

/// One cluster's answers.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub cluster: String,
    pub status: pb::GetStatusResponse,
    pub services: Vec<pb::GlobalServiceView>,
}

fn find<'a>(
    views: &'a [pb::GlobalServiceView],
    namespace: &str,
    name: &str,
) -> Option<&'a pb::GlobalServiceView> {
    views
        .iter()
        .find(|v| v.namespace == namespace && v.name == name)
}

/// The service must be global in the target cluster itself, not only known from a peer.
pub fn check_target(target: &ClusterView, namespace: &str, name: &str) -> Result<(), String> {
    let own = find(&target.services, namespace, name)
        .is_some_and(|v| v.clusters.iter().any(|c| c.cluster == target.cluster));
    match own {
        true => Ok(()),
        false => Err(format!(
            "{namespace}/{name} is not a global service in cluster {}",
            target.cluster
        )),
    }
}

fn leases(status: &pb::GetStatusResponse) -> LocalLeases {
    status
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.registered))
        .collect()
}

/// The clusters the first TCP frontend sends to (what a probe connects to), or why
/// there is none.
fn probed_targets(report: &ServiceReport) -> Result<Vec<String>, String> {
    if let Some(note) = &report.note {
        return Err(note.clone());
    }
    let frontend = report
        .frontends
        .iter()
        .find(|f| f.protocol == "TCP")
        .ok_or("it has no TCP port to probe")?;
    Ok(frontend
        .backends
        .iter()
        .map(|t| t.cluster.clone())
        .collect())
}

/// The view as it will be once `fault` is in force in `target`.
fn faulted(
    mut view: pb::GlobalServiceView,
    target: &str,
    fault: FaultKind,
) -> pb::GlobalServiceView {
    for copy in view.clusters.iter_mut().filter(|c| c.cluster == target) {
        match fault {
            FaultKind::Backends => {
                for b in &mut copy.backends {
                    b.ready = false;
                    b.serving = false;
                }
            }
            FaultKind::Cluster => copy.reachable = false,
        }
    }
    view
}

/// Whether `prober` can take part in a drill of `target`'s `namespace/name`.
pub fn assess(
    prober: &ClusterView,
    target: &str,
    fault: FaultKind,
    namespace: &str,
    name: &str,
) -> Verdict {
    let service = format!("{namespace}/{name}");
    match prober.status.peers.iter().find(|p| p.name == target) {
        None => return Verdict::Skip(format!("does not import {target}")),
        Some(p) if !p.connected => {
            let why = match p.last_error.is_empty() {
                true => String::new(),
                false => format!(": {}", p.last_error),
            };
            return Verdict::Skip(format!("its import of {target} is not connected{why}"));
        }
        Some(_) => {}
    }
    let Some(view) = find(&prober.services, namespace, name) else {
        return Verdict::Skip(format!("{service} is not a global service there"));
    };
    let own = prober.cluster.as_str();
    let leases = leases(&prober.status);
    let report = |view: pb::GlobalServiceView| {
        service_report(own, view, &leases)
            .map_err(|e| format!("invalid ListGlobalServices answer: {e}"))
    };
    let now = match report(view.clone()) {
        Ok(r) => r,
        Err(e) => return Verdict::Skip(e),
    };
    let targets = match probed_targets(&now) {
        Ok(t) => t,
        Err(why) => return Verdict::Skip(format!("{service}: {why}")),
    };
    if !targets.iter().any(|c| c == target) {
        let why = now
            .clusters
            .iter()
            .find(|c| c.cluster == target)
            .and_then(|c| c.backends.iter().find_map(|b| b.reason.clone()))
            .unwrap_or_else(|| format!("{target} has no backends of it"));
        return Verdict::Skip(format!(
            "sends no {service} traffic to {target} now ({why}), so it would see no failover"
        ));
    }
    let after = match report(faulted(view.clone(), target, fault)).map(|r| probed_targets(&r)) {
        Ok(Ok(t)) => t,
        Ok(Err(why)) | Err(why) => return Verdict::Skip(why),
    };
    if after.is_empty() {
        return Verdict::Refuse(format!(
            "{own} has no healthy backend of {service} outside {target}: its clients would lose the service during the drill"
        ));
    }
    Verdict::Probe
}

async fn view_of(admin: &Admin, namespace: &str) -> Result<ClusterView, CtlError> {
    let (status, services) = tokio::try_join!(admin.status(), admin.global_services(namespace))?;
    let cluster = status
        .cluster
        .as_ref()
        .map(|c| c.name.clone())
        .ok_or_else(|| admin.bad_answer("GetStatus", "no cluster"))?;
    Ok(ClusterView {
        cluster,
        status,
        services,
    })
}

/// Asks every context, then decides. Refusals list every reason found.
pub async fn prepare(config: &ClientConfig, options: &FailoverOptions) -> Result<Plan, DrillError> {
    let (namespace, name) = (options.namespace.as_str(), options.name.as_str());
    let service = options.service();
    let refused = |problems: Vec<String>| DrillError::Refused {
        context: options.context.clone(),
        service: service.clone(),
        problems,
    };
    let context = config
        .context(Some(&options.context))
        .map_err(CtlError::from)?;
    let admin = Admin::connect(context, options.timeouts).await?;
    let target = view_of(&admin, namespace).await?;
    check_target(&target, namespace, name).map_err(|p| refused(vec![p]))?;

    let others: Vec<_> = config
        .contexts
        .iter()
        .filter(|c| c.name.as_str() != options.context)
        .collect();
    let answers = join_all(others.iter().map(|c| async move {
        let admin = Admin::connect(c, options.timeouts).await?;
        view_of(&admin, namespace).await
    }))
    .await;

    let mut skipped = Vec::new();
    let mut problems = Vec::new();
    let mut chosen = Vec::new();
    let mut clusters_seen = vec![target.cluster.clone()];
    for (c, answer) in others.iter().zip(answers) {
        let context = c.name.to_string();
        let mut skip = |reason: String| {
            skipped.push(SkippedReport {
                context: context.clone(),
                reason,
            })
        };
        let view = match answer {
            Ok(view) => view,
            Err(e) => {
                skip(format!("unreachable: {e}"));
                continue;
            }
        };
        if clusters_seen.contains(&view.cluster) {
            skip(format!("cluster {} is already in the drill", view.cluster));
            continue;
        }
        clusters_seen.push(view.cluster.clone());
        match assess(&view, &target.cluster, options.fault, namespace, name) {
            Verdict::Probe => chosen.push((*c, view.cluster)),
            Verdict::Skip(reason) => skip(reason),
            Verdict::Refuse(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(refused(problems));
    }
    if chosen.is_empty() {
        let mut problems = vec![format!(
            "no other connected cluster has {service} and sends it to {}'s backends",
            target.cluster
        )];
        problems.extend(
            skipped
                .iter()
                .map(|s| format!("context {}: {}", s.context, s.reason)),
        );
        return Err(refused(problems));
    }
    let target_api = Admin::connect_for_streams(context, options.timeouts).await?;
    let mut probers = Vec::new();
    for (c, cluster) in chosen {
        probers.push(Prober {
            context: c.name.to_string(),
            cluster,
            api: Admin::connect_for_streams(c, options.timeouts).await?,
        });
    }
    Ok(Plan {
        context: options.context.clone(),
        cluster: target.cluster,
        target: target_api,
        probers,
        skipped,
    })
}
