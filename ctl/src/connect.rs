//! `ctl connect`: validates a pair of clusters, then makes each import the other
//! through the Admin API, optionally waiting until both report the link synced. This
//! is the one implementation of the exchange; tests of other crates reuse it.

mod exchange;
pub mod validate;
mod wait;

use std::time::Duration;

use clustermesh_proto::{Cluster, client_config::ClientConfig, pb};
use serde::Serialize;
use tokio::time::Instant;

use self::exchange::Budget;
use crate::{
    client::{Admin, Timeouts, retry_unavailable},
    error::CtlError,
};

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// For the whole command: retries of `Unavailable` and `wait` included.
    pub timeout: Duration,
    /// Wait until both sides report the link connected, reachable and synced.
    pub wait: bool,
    pub timeouts: Timeouts,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            wait: false,
            timeouts: Timeouts::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectReport {
    pub a: SideReport,
    pub b: SideReport,
    pub links: Vec<LinkReport>,
    /// Both sides imported each other already: nothing was changed.
    pub already_connected: bool,
    /// With `--wait`: how long until both sides reported the link synced.
    pub synced_after_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideReport {
    pub context: String,
    pub cluster: String,
    pub id: u32,
    pub pod_cidrs: Vec<String>,
    pub advertise_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkReport {
    /// Context of the cluster that imports.
    pub importer: String,
    /// Context of the cluster that is imported.
    pub exporter: String,
    /// "installed", or "unchanged" when it was in place already.
    pub action: String,
}

/// One side, as found before anything changes.
struct Found {
    admin: Admin,
    expected_cluster: String,
    info: pb::Cluster,
    cluster: Cluster,
    peers: Vec<Cluster>,
}

impl Found {
    async fn fetch(admin: Admin, expected: String, budget: Budget) -> Result<Self, CtlError> {
        let what = format!("the apiserver of context {} to answer", admin.context());
        let info = retry_unavailable(budget.deadline, budget.started, &what, || {
            admin.cluster_info()
        })
        .await?;
        let info = info
            .cluster
            .ok_or_else(|| admin.bad_answer("GetClusterInfo", "no cluster"))?;
        let cluster =
            Cluster::try_from(info.clone()).map_err(|e| admin.bad_answer("GetClusterInfo", e))?;
        let peers = admin
            .list_peers()
            .await?
            .into_iter()
            .map(Cluster::try_from)
            .collect::<Result<_, _>>()
            .map_err(|e| admin.bad_answer("ListPeers", e))?;
        Ok(Self {
            admin,
            expected_cluster: expected,
            info,
            cluster,
            peers,
        })
    }

    fn side(&self) -> validate::Side<'_> {
        validate::Side {
            context: self.admin.context(),
            expected_cluster: &self.expected_cluster,
            cluster: &self.cluster,
            peers: &self.peers,
        }
    }

    fn report(&self) -> SideReport {
        SideReport {
            context: self.admin.context().to_owned(),
            cluster: self.cluster.name.to_string(),
            id: self.cluster.id.into(),
            pod_cidrs: self
                .cluster
                .pod_cidrs
                .iter()
                .map(ToString::to_string)
                .collect(),
            advertise_address: self.cluster.advertise_address.to_string(),
        }
    }
}

/// Connects the clusters of contexts `a` and `b` both ways. `progress` hears what is
/// being done and, with `wait`, what is still missing.
pub async fn connect(
    config: &ClientConfig,
    a: &str,
    b: &str,
    options: &ConnectOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ConnectReport, CtlError> {
    if a == b {
        return Err(CtlError::Usage(format!(
            "--context and --destination-context both name {a}; a cluster cannot import itself"
        )));
    }
    let (ctx_a, ctx_b) = (config.context(Some(a))?, config.context(Some(b))?);
    let started = Instant::now();
    let budget = Budget {
        started,
        deadline: started + options.timeout,
    };
    let (admin_a, admin_b) = tokio::try_join!(
        Admin::connect(ctx_a, options.timeouts),
        Admin::connect(ctx_b, options.timeouts)
    )?;
    progress(&format!("checking {a} and {b}"));
    let (side_a, side_b) = tokio::try_join!(
        Found::fetch(admin_a, ctx_a.cluster.to_string(), budget),
        Found::fetch(admin_b, ctx_b.cluster.to_string(), budget)
    )?;
    let problems = validate::problems(&side_a.side(), &side_b.side());
    if !problems.is_empty() {
        return Err(CtlError::Refused {
            a: a.to_owned(),
            b: b.to_owned(),
            problems,
        });
    }
    let mut links = Vec::new();
    for (importer, exporter) in [(&side_a, &side_b), (&side_b, &side_a)] {
        let (from, to) = (importer.admin.context(), exporter.admin.context());
        let action = if validate::imports(&importer.peers, &exporter.cluster) {
            "unchanged"
        } else {
            progress(&format!("{from} imports {to}: exchanging certificates"));
            let own = importer.cluster.name.as_str();
            exchange::one_way(
                &importer.admin,
                own,
                &exporter.admin,
                &exporter.info,
                budget,
            )
            .await?;
            "installed"
        };
        links.push(LinkReport {
            importer: from.to_owned(),
            exporter: to.to_owned(),
            action: action.to_owned(),
        });
    }
    let synced_after = match options.wait {
        false => None,
        true => Some(
            wait::both_linked(
                (&side_a.admin, side_a.cluster.name.as_str()),
                (&side_b.admin, side_b.cluster.name.as_str()),
                budget,
                progress,
            )
            .await?,
        ),
    };
    Ok(ConnectReport {
        a: side_a.report(),
        b: side_b.report(),
        already_connected: links.iter().all(|l| l.action == "unchanged"),
        links,
        synced_after_ms: synced_after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    })
}

/// The human form of a [`ConnectReport`].
pub fn render(report: &ConnectReport) -> Vec<String> {
    let side = |s: &SideReport| {
        let cidrs = match s.pod_cidrs.is_empty() {
            true => "none yet".to_owned(),
            false => s.pod_cidrs.join(","),
        };
        format!(
            "{} (cluster {}, id {}, pod CIDRs {cidrs}, {})",
            s.context, s.cluster, s.id, s.advertise_address
        )
    };
    let (a, b) = (&report.a.context, &report.b.context);
    let mut lines = vec![format!(
        "checked {} and {}: no conflicts",
        side(&report.a),
        side(&report.b)
    )];
    if report.already_connected {
        lines.push(format!("{a} and {b} are already connected; nothing to do"));
    } else {
        for link in &report.links {
            lines.push(match link.action.as_str() {
                "unchanged" => format!("{} already imports {}", link.importer, link.exporter),
                _ => format!("{} now imports {}", link.importer, link.exporter),
            });
        }
        lines.push(format!("connected {a} and {b}"));
    }
    if let Some(ms) = report.synced_after_ms {
        lines.push(format!(
            "both sides report the link connected, reachable and synced (after {})",
            crate::duration::format_duration(Duration::from_millis(ms))
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
