//! The human form of a [`DrillReport`]: the verdict, the figures, one row per probing
//! cluster, and the timeline summed per second (the 100 ms buckets are in the JSON and
//! the SVG).

use std::collections::{BTreeMap, BTreeSet};

use super::report::{BucketReport, DrillReport, Phase, ProbeTotals};
use crate::{
    duration::format_duration,
    output::{Paint, Table, Tone},
};

/// Timeline rows of the table.
const ROW_MS: i64 = 1000;

fn ms(value: i64) -> String {
    format_duration(std::time::Duration::from_millis(value.max(0) as u64))
}

fn after(value: Option<i64>, event: &str) -> String {
    value.map_or_else(
        || "-".to_owned(),
        |v| format!("{} after the {event}", ms(v)),
    )
}

/// Seconds relative to the fault, signed: `-2.0s`, `+1.5s`.
fn offset(t_ms: i64) -> String {
    let sign = if t_ms < 0 { "-" } else { "+" };
    format!("{sign}{:.1}s", t_ms.unsigned_abs() as f64 / 1000.0)
}

fn count(n: u64) -> (String, Tone) {
    let tone = if n > 0 { Tone::Bad } else { Tone::Plain };
    (n.to_string(), tone)
}

/// The serving clusters, the faulted one first.
pub fn serving_clusters(report: &DrillReport) -> Vec<String> {
    let mut others: BTreeSet<&String> = report
        .timeline
        .iter()
        .flat_map(|b| b.connections.keys())
        .collect();
    others.remove(&report.cluster);
    std::iter::once(report.cluster.clone())
        .chain(others.into_iter().cloned())
        .collect()
}

pub fn render(report: &DrillReport, paint: Paint) -> Vec<String> {
    let probers: Vec<String> = report
        .probers
        .iter()
        .map(|p| format!("{} (node {})", p.cluster, p.node))
        .collect();
    let passed = report.recovered && report.failed_back;
    let verdict = match passed {
        true => paint.good(&report.verdict),
        false => paint.bad(&report.verdict),
    };
    let mut lines = vec![
        format!(
            "failover drill: {}/{}, {} fault in cluster {} (context {})",
            report.namespace, report.name, report.fault, report.cluster, report.context
        ),
        format!(
            "probes: {}/s from {}",
            report.rate_per_second,
            probers.join(", ")
        ),
        format!("result: {verdict}"),
        String::new(),
    ];

    let mut figures = Table::new(["FIGURE", "VALUE"]);
    let failed = &report.probes;
    figures.row(["recovery (RTO)".to_owned(), after(report.rto_ms, "fault")]);
    figures.row([
        "first probe served elsewhere".to_owned(),
        after(report.first_served_elsewhere_ms, "fault"),
    ]);
    figures.row([
        "last failed probe".to_owned(),
        match report.last_failure_ms {
            Some(_) => after(report.last_failure_ms, "fault"),
            None => "none failed during the fault".to_owned(),
        },
    ]);
    figures.row(["failback".to_owned(), after(report.failback_ms, "restore")]);
    figures.row([
        "fault held".to_owned(),
        format!(
            "{} (limit {})",
            ms(report.restore_ms),
            ms(report.duration_ms as i64)
        ),
    ]);
    figures.toned_row([
        ("probes".to_owned(), Tone::Plain),
        (
            format!(
                "{} sent, {} ok, {} failed, {} unreported",
                failed.sent, failed.ok, failed.failed, failed.unreported
            ),
            match failed.accounted {
                true => Tone::Plain,
                false => Tone::Warn,
            },
        ),
    ]);
    lines.extend(figures.render(paint));
    lines.push(String::new());

    let mut probers = Table::new([
        "PROBER",
        "NODE",
        "SENT",
        "OK",
        "FAILED",
        "BEFORE",
        "DURING",
        "AFTER",
        "UNREPORTED",
        "RTO",
        "FAILBACK",
    ]);
    let row = |name: &str, node: &str, p: &ProbeTotals, rto: String, back: String| {
        vec![
            (name.to_owned(), Tone::Plain),
            (node.to_owned(), Tone::Plain),
            (p.sent.to_string(), Tone::Plain),
            (p.ok.to_string(), Tone::Plain),
            count(p.failed),
            count(p.failed_before_fault),
            count(p.failed_during_fault),
            count(p.failed_after_restore),
            count(p.unreported + p.duplicates),
            (rto, Tone::Plain),
            (back, Tone::Plain),
        ]
    };
    let opt = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), ms);
    for p in &report.probers {
        probers.toned_row(row(
            &p.cluster,
            &p.node,
            &p.probes,
            opt(p.rto_ms),
            opt(p.failback_ms),
        ));
    }
    if report.probers.len() > 1 {
        probers.toned_row(row(
            "total",
            "",
            &report.probes,
            opt(report.rto_ms),
            opt(report.failback_ms),
        ));
    }
    lines.extend(probers.render(paint));
    for p in &report.probers {
        for (error, n) in &p.errors {
            lines.push(format!("  {}: {n} x {error}", p.cluster));
        }
    }
    lines.push(String::new());

    let clusters = serving_clusters(report);
    let mut headers = vec![
        "TIME".to_owned(),
        "PHASE".into(),
        "OK".into(),
        "FAILED".into(),
    ];
    headers.extend(clusters.iter().map(|c| format!("{} %", c.to_uppercase())));
    let mut timeline = Table::new(headers);
    for row in per_second(&report.timeline) {
        let mut cells = vec![
            (offset(row.t_ms), Tone::Plain),
            (row.phase.to_owned(), Tone::Dim),
            (row.ok.to_string(), Tone::Plain),
            count(row.failed),
        ];
        let total: f64 = row.served.values().sum();
        cells.extend(clusters.iter().map(|c| {
            let served = row.served.get(c).copied().unwrap_or_default();
            match total > 0.0 {
                true => (format!("{:.0}", 100.0 * served / total), Tone::Plain),
                false => ("-".to_owned(), Tone::Dim),
            }
        }));
        timeline.toned_row(cells);
    }
    lines.extend(timeline.render(paint));

    if !report.skipped.is_empty() || !report.warnings.is_empty() || report.svg.is_some() {
        lines.push(String::new());
    }
    for s in &report.skipped {
        lines.push(format!("skipped context {}: {}", s.context, s.reason));
    }
    for w in &report.warnings {
        lines.push(paint.warn(&format!("warning: {w}")));
    }
    if let Some(svg) = &report.svg {
        lines.push(format!("timeline: {svg}"));
    }
    lines
}

/// One row of the per-second timeline.
struct Row {
    t_ms: i64,
    phase: &'static str,
    ok: u64,
    failed: u64,
    /// Successful probes per serving cluster, from the buckets' shares.
    served: BTreeMap<String, f64>,
}

fn per_second(buckets: &[BucketReport]) -> Vec<Row> {
    let mut rows: Vec<(Row, BTreeSet<Phase>)> = Vec::new();
    for b in buckets {
        let t = b.t_ms.div_euclid(ROW_MS) * ROW_MS;
        if rows.last().is_none_or(|(r, _)| r.t_ms != t) {
            let row = Row {
                t_ms: t,
                phase: "",
                ok: 0,
                failed: 0,
                served: BTreeMap::new(),
            };
            rows.push((row, BTreeSet::new()));
        }
        let (row, phases) = rows.last_mut().expect("pushed above");
        row.ok += b.probes_ok;
        row.failed += b.probes_failed;
        phases.insert(b.phase);
        for (cluster, share) in &b.share {
            *row.served.entry(cluster.clone()).or_default() += share * b.probes_ok as f64;
        }
    }
    rows.into_iter()
        .map(|(mut row, phases)| {
            row.phase = match (phases.first(), phases.len()) {
                (Some(Phase::Baseline), 1) => "baseline",
                (Some(Phase::Fault), 1) => "fault",
                (Some(Phase::Restored), 1) => "restored",
                (Some(Phase::Baseline), _) => "fault",
                _ => "restore",
            };
            row
        })
        .collect()
}
