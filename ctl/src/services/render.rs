//! The human form of a [`ServicesReport`]: per service a heading, one row per backend,
//! and one line per frontend with what it selects.

use crate::output::{Paint, Table, Tone};

use super::{PortReport, ServiceReport, ServicesReport};

pub fn render(report: &ServicesReport, paint: Paint) -> Vec<String> {
    if report.services.is_empty() {
        return vec![format!(
            "no global services in cluster {} (context {}); mark one with the annotation clustermesh.io/global: \"true\"",
            report.cluster, report.context
        )];
    }
    let mut lines = Vec::new();
    for (i, service) in report.services.iter().enumerate() {
        if i > 0 {
            lines.push(String::new());
        }
        lines.extend(render_service(service, paint));
    }
    lines
}

fn port(p: &PortReport) -> String {
    match &p.name {
        Some(name) => format!("{name}:{}/{}", p.port, p.protocol),
        None => format!("{}/{}", p.port, p.protocol),
    }
}

fn yes_no(value: bool) -> (String, Tone) {
    match value {
        true => ("yes".to_owned(), Tone::Good),
        false => ("no".to_owned(), Tone::Bad),
    }
}

fn render_service(service: &ServiceReport, paint: Paint) -> Vec<String> {
    let ports: Vec<String> = service.ports.iter().map(port).collect();
    let mut lines = vec![format!(
        "{}/{}  vip {}  ports {}  affinity {}",
        service.namespace,
        service.name,
        service.vip.as_deref().unwrap_or("-"),
        if ports.is_empty() {
            "-".to_owned()
        } else {
            ports.join(",")
        },
        service.affinity,
    )];
    let mut table = Table::new([
        "CLUSTER",
        "REACHABLE",
        "SHARED",
        "BACKEND",
        "NODE",
        "LEASE",
        "READY",
        "SELECTED",
        "WHY NOT",
    ])
    .indent(2);
    for cluster in &service.clusters {
        let name = match cluster.local {
            true => format!("{} (local)", cluster.cluster),
            false => cluster.cluster.clone(),
        };
        let head = [
            (name, Tone::Plain),
            yes_no(cluster.reachable),
            yes_no(cluster.shared),
        ];
        if cluster.backends.is_empty() {
            table.toned_row(
                head.clone()
                    .into_iter()
                    .chain([("none".to_owned(), Tone::Dim)]),
            );
        }
        for b in &cluster.backends {
            let ready = match (b.ready, b.terminating) {
                (true, _) => ("yes".to_owned(), Tone::Good),
                (false, true) => ("terminating".to_owned(), Tone::Warn),
                (false, false) => ("no".to_owned(), Tone::Bad),
            };
            let selected = match b.selected {
                true => ("yes".to_owned(), Tone::Good),
                false => ("no".to_owned(), Tone::Warn),
            };
            table.toned_row(head.clone().into_iter().chain([
                (b.ip.clone(), Tone::Plain),
                (b.node.clone().unwrap_or_else(|| "-".into()), Tone::Plain),
                (
                    b.node_lease.clone().unwrap_or_else(|| "-".into()),
                    Tone::Plain,
                ),
                ready,
                selected,
                (b.reason.clone().unwrap_or_default(), Tone::Dim),
            ]));
        }
    }
    lines.extend(table.render(paint));
    if let Some(note) = &service.note {
        lines.push(format!("  {}", paint.warn(note)));
    }
    for f in &service.frontends {
        let targets: Vec<String> = f
            .backends
            .iter()
            .map(|t| format!("{}:{} ({})", t.ip, t.port, t.cluster))
            .collect();
        let to = match targets.is_empty() {
            true => paint.bad("nothing: connections are rejected"),
            false => targets.join(", "),
        };
        lines.push(format!("  {}:{}/{} -> {to}", f.vip, f.port, f.protocol));
    }
    lines
}
