//! The human form of a [`StatusReport`]: per cluster a heading line, a peers table, a
//! nodes table, warnings and problems; then the verdict.

use std::time::Duration;

use crate::duration::format_duration;
use crate::output::{Paint, Table, Tone};

use super::{ClusterReport, PeerReport, StatusReport};

pub fn render(report: &StatusReport, paint: Paint) -> Vec<String> {
    let mut lines = Vec::new();
    for cluster in &report.clusters {
        lines.extend(render_cluster(cluster, paint));
        lines.push(String::new());
    }
    let verdict = if report.healthy {
        paint.good(&report.verdict)
    } else {
        paint.bad(&report.verdict)
    };
    lines.push(verdict);
    lines
}

fn yes_no(value: bool) -> (String, Tone) {
    if value {
        ("yes".to_owned(), Tone::Good)
    } else {
        ("no".to_owned(), Tone::Bad)
    }
}

fn ago(ms: Option<u64>) -> String {
    ms.map_or("-".to_owned(), |ms| {
        format!("{} ago", format_duration(Duration::from_millis(ms)))
    })
}

fn heading(cluster: &ClusterReport, paint: Paint) -> String {
    let place = format!(
        "(context {}, apiserver {})",
        cluster.context, cluster.server
    );
    let Some(summary) = &cluster.cluster else {
        let state = if cluster.apiserver.reachable {
            "NOT READY"
        } else {
            "UNREACHABLE"
        };
        return format!("cluster ? {place}: {}", paint.bad(state));
    };
    let cidrs = match summary.pod_cidrs.is_empty() {
        true => "none yet".to_owned(),
        false => summary.pod_cidrs.join(","),
    };
    let store = cluster.store.as_ref().map_or(String::new(), |s| {
        format!(", store {} at revision {}", s.backend, s.revision)
    });
    format!(
        "cluster {} {place}: {}, id {}, pod CIDRs {cidrs}{store}",
        summary.name,
        paint.good("ready"),
        summary.id,
    )
}

fn render_cluster(cluster: &ClusterReport, paint: Paint) -> Vec<String> {
    let mut lines = vec![heading(cluster, paint)];
    if let Some(error) = &cluster.apiserver.error {
        lines.push(format!("  error: {}", paint.bad(error)));
    }
    if let Some(hint) = &cluster.apiserver.hint {
        lines.push(format!("  hint: {hint}"));
    }
    if cluster.cluster.is_some() {
        lines.extend(peers_table(cluster, paint));
        lines.extend(nodes_table(cluster, paint));
    }
    for warning in &cluster.warnings {
        lines.push(format!("  {} {warning}", paint.warn("warning:")));
    }
    for problem in cluster
        .problems
        .iter()
        .filter(|p| !p.starts_with("warning: "))
    {
        lines.push(format!("  {} {problem}", paint.bad("problem:")));
    }
    lines
}

fn peers_table(cluster: &ClusterReport, paint: Paint) -> Vec<String> {
    if cluster.peers.is_empty() {
        return vec!["  peers: none; connect one with `ctl connect`".to_owned()];
    }
    let mut table = Table::new([
        "PEER",
        "ADDRESS",
        "CONNECTED",
        "REACHABLE",
        "SYNCED",
        "HEARTBEAT",
        "RECORDS",
        "ERROR",
    ])
    .indent(2);
    for peer in &cluster.peers {
        let total = peer.synced_kinds.len() + peer.missing_kinds.len();
        let synced_tone = if peer.synced { Tone::Good } else { Tone::Bad };
        let records: Vec<String> = peer
            .record_counts
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        table.toned_row([
            (peer.name.clone(), Tone::Plain),
            (peer.advertise_address.clone(), Tone::Plain),
            yes_no(peer.connected),
            yes_no(peer.reachable),
            (format!("{}/{total}", peer.synced_kinds.len()), synced_tone),
            (ago(peer.last_heartbeat_age_ms), Tone::Plain),
            (records.join(" "), Tone::Plain),
            (error_note(peer), Tone::Bad),
        ]);
    }
    table.render(paint)
}

/// The last error, and how many invalid events the import skipped, if any.
fn error_note(peer: &PeerReport) -> String {
    let rejected = (peer.rejected_events > 0)
        .then(|| format!("{} invalid events skipped", peer.rejected_events));
    [peer.last_error.clone(), rejected]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ")
}

fn nodes_table(cluster: &ClusterReport, paint: Paint) -> Vec<String> {
    if cluster.nodes.is_empty() {
        return vec!["  nodes: none exported".to_owned()];
    }
    let mut table = Table::new([
        "NODE",
        "REGISTERED",
        "HEARTBEAT",
        "TUNNELS",
        "ZONE",
        "ENDPOINT",
    ])
    .indent(2);
    for node in &cluster.nodes {
        let tunnels = match node.tunnels {
            Some(t) => (
                format!("{}/{} up", t.up, t.expected),
                if node.healthy { Tone::Good } else { Tone::Bad },
            ),
            None if node.registered => ("not reported".to_owned(), Tone::Dim),
            None => ("-".to_owned(), Tone::Plain),
        };
        let registered = match node.registered {
            true => ("yes".to_owned(), Tone::Good),
            false => ("no agent".to_owned(), Tone::Dim),
        };
        table.toned_row([
            (node.name.clone(), Tone::Plain),
            registered,
            (ago(node.last_heartbeat_age_ms), Tone::Plain),
            tunnels,
            (node.zone.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
            (
                node.wireguard_endpoint
                    .clone()
                    .unwrap_or_else(|| "-".into()),
                Tone::Plain,
            ),
        ]);
    }
    table.render(paint)
}
