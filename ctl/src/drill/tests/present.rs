//! The report built from collected runs, and its three forms: JSON, table and SVG.

use super::{FAULT, marks, series};
use crate::{
    drill::{
        DrillError, FaultKind, build, parse_service, render,
        report::{Drill, DrillReport, ProberData, SkippedReport},
        svg,
    },
    output::Paint,
};

fn drill(restore: i64, end: i64) -> Drill {
    Drill {
        context: "a".into(),
        cluster: "a".into(),
        namespace: "demo".into(),
        name: "web".into(),
        fault: FaultKind::Backends,
        fault_id: 7,
        fault_ttl_ms: 74_000,
        rate_per_second: 100,
        duration_ms: 30_000,
        stable_ms: 2000,
        marks: marks(-2000, Some(restore), end),
        skipped: vec![SkippedReport {
            context: "c".into(),
            reason: "does not import a".into(),
        }],
        warnings: vec![],
    }
}

fn prober(serve: impl Fn(i64) -> Option<&'static str>, end: i64) -> ProberData {
    ProberData {
        context: "b".into(),
        cluster: "b".into(),
        node: "b-node1".into(),
        series: series(-2000, end, serve),
    }
}

/// Failures for 300 ms, then b; restored at 2.5 s, a again from 2.6 s.
fn recovered() -> DrillReport {
    let serve = |t: i64| match t {
        t if !(0..2600).contains(&t) => Some("a"),
        t if t < 300 => None,
        _ => Some("b"),
    };
    build(&drill(2500, 3500), &[prober(serve, 3600)])
}

#[test]
fn the_report_has_the_figures_and_accounts_for_every_probe() {
    let r = recovered();
    assert!(r.recovered && r.failed_back);
    assert_eq!(
        (
            r.rto_ms,
            r.first_served_elsewhere_ms,
            r.last_failure_ms,
            r.failback_ms
        ),
        (Some(300), Some(300), Some(290), Some(100))
    );
    assert_eq!(
        r.verdict,
        "recovered 300ms after the fault; failed back 100ms after the restore"
    );
    let p = r.probes;
    assert_eq!((p.sent, p.ok, p.failed, p.unreported), (550, 520, 30, 0));
    assert_eq!(p.failed_during_fault, 30);
    assert!(p.accounted);
    assert_eq!(
        r.probers[0].probes, p,
        "one prober: its totals are the totals"
    );
    assert_eq!(r.probers[0].errors["connection refused"], 30);
    assert_eq!(
        (r.started_ms, r.restore_ms, r.stopped_ms),
        (-2000, 2500, 3500)
    );
    assert_eq!(r.timeline.len(), 55);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn a_drill_that_did_not_recover_says_why() {
    let serve = |t: i64| match t {
        t if (0..2500).contains(&t) && t % 50 == 0 => None,
        t if (0..2500).contains(&t) => Some("b"),
        _ => Some("a"),
    };
    let r = build(&drill(2500, 3000), &[prober(serve, 3000)]);
    assert!(!r.recovered && !r.failed_back);
    assert_eq!(r.rto_ms, None);
    assert_eq!(
        r.verdict,
        "did not recover within 30s: probes were still failing"
    );
    let idle = build(&drill(2500, 3000), &[prober(|t| (t < 0).then_some("a"), 0)]);
    assert_eq!(
        idle.verdict,
        "did not recover within 30s: no probe succeeded"
    );
    assert!(idle.warnings.is_empty(), "{:?}", idle.warnings);
}

#[test]
fn warnings_for_a_baseline_that_shows_nothing_and_lost_probes() {
    let mut b = prober(|_| Some("b"), 3000);
    b.series.probes.retain(|p| p.seq != 3);
    b.series.probes[0].ok = false;
    let r = build(&drill(2500, 3000), &[b]);
    assert_eq!(
        r.warnings,
        [
            "b: 1 of 500 probes were never reported",
            "no connection went to a's backends before the fault: this drill shows no failover",
            "1 probes failed before the fault: the baseline was not healthy",
        ]
    );
    assert!(!r.probes.accounted);
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

#[test]
fn json_field_names_are_stable() {
    let value = serde_json::to_value(recovered()).expect("json");
    assert_eq!(
        keys(&value),
        [
            "bucket_ms",
            "cluster",
            "context",
            "duration_ms",
            "failback_ms",
            "failed_back",
            "fault",
            "fault_id",
            "fault_ttl_ms",
            "fault_unix_ms",
            "first_served_elsewhere_ms",
            "last_failure_ms",
            "name",
            "namespace",
            "probers",
            "probes",
            "rate_per_second",
            "recovered",
            "restore_ms",
            "restore_unix_ms",
            "rto_ms",
            "skipped",
            "stable_ms",
            "started_ms",
            "started_unix_ms",
            "stopped_ms",
            "stopped_unix_ms",
            "svg",
            "timeline",
            "verdict",
            "warnings"
        ]
    );
    assert_eq!(value["fault"], "backends");
    assert_eq!(value["fault_unix_ms"], FAULT);
    assert_eq!(value["svg"], serde_json::Value::Null);
    assert_eq!(
        keys(&value["probes"]),
        [
            "accounted",
            "duplicates",
            "failed",
            "failed_after_restore",
            "failed_before_fault",
            "failed_during_fault",
            "ok",
            "sent",
            "unreported"
        ]
    );
    assert_eq!(
        keys(&value["probers"][0]),
        [
            "cluster",
            "context",
            "errors",
            "failback_ms",
            "first_served_elsewhere_ms",
            "last_failure_ms",
            "node",
            "probes",
            "recovered",
            "rto_ms"
        ]
    );
    assert_eq!(
        value["skipped"],
        serde_json::json!([{"context": "c", "reason": "does not import a"}])
    );
    // The first bucket after the fault: all ten probes failed, nothing connected.
    assert_eq!(
        value["timeline"][20],
        serde_json::json!({"t_ms": 0, "phase": "fault", "probes_ok": 0, "probes_failed": 10,
            "connections": {}, "share": {}})
    );
    assert_eq!(
        value["timeline"][0],
        serde_json::json!({"t_ms": -2000, "phase": "baseline", "probes_ok": 10, "probes_failed": 0,
            "connections": {"a": 10.0}, "share": {"a": 1.0}})
    );
    assert_eq!(value["timeline"][51]["phase"], "restored");
}

#[test]
fn the_table_shows_verdict_figures_probers_and_a_per_second_timeline() {
    let mut r = recovered();
    r.svg = Some("/tmp/drill.svg".into());
    let lines = render(&r, Paint::new(false));
    let text = lines.join("\n");
    assert_eq!(
        lines[..3],
        [
            "failover drill: demo/web, backends fault in cluster a (context a)",
            "probes: 100/s from b (node b-node1)",
            "result: recovered 300ms after the fault; failed back 100ms after the restore",
        ]
    );
    for expected in [
        "recovery (RTO)                300ms after the fault",
        "first probe served elsewhere  300ms after the fault",
        "last failed probe             290ms after the fault",
        "failback                      100ms after the restore",
        "fault held                    2.5s (limit 30s)",
        "probes                        550 sent, 520 ok, 30 failed, 0 unreported",
        "PROBER  NODE     SENT  OK   FAILED  BEFORE  DURING  AFTER  UNREPORTED  RTO    FAILBACK",
        "b       b-node1  550   520  30      0       30      0      0           300ms  100ms",
        "  b: 30 x connection refused",
        "TIME   PHASE     OK   FAILED  A %  B %",
        "-2.0s  baseline  100  0       100  0",
        "+0.0s  fault     70   30      0    100",
        "+2.0s  restore   100  0       40   60",
        "+3.0s  restored  50   0       100  0",
        "skipped context c: does not import a",
        "timeline: /tmp/drill.svg",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
}

#[test]
fn the_svg_has_axes_labels_legend_and_marks() {
    let r = recovered();
    let svg = svg::render(&r).expect("svg");
    assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim()))
        .collect();
    for text in [
        "demo/web: backends fault in cluster a - recovered 300ms after the fault; failed back 100ms after the restore",
        "share of successful probes per serving cluster (%)",
        "probes per 100 ms: ok and failed",
        "seconds since the fault",
        "% of ok probes",
        "fault",
        "restore",
        "a",
        "b",
        "ok",
        "failed",
        "-2.0",
        "3.0",
    ] {
        assert!(
            texts.contains(&text),
            "{text:?} not among the SVG texts {texts:?}"
        );
    }
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert!(
        svg.contains("<polygon") || svg.contains("<path"),
        "no area drawn"
    );
    assert!(svg.contains("<rect"), "no failure bars");
}

#[test]
fn errors_and_arguments() {
    let refused = DrillError::Refused {
        context: "a".into(),
        service: "demo/web".into(),
        problems: vec!["one".into(), "two".into()],
    };
    assert_eq!(
        refused.to_string(),
        "refusing to drill demo/web in a:\n  - one\n  - two"
    );
    assert_eq!(refused.exit_code(), 1);
    assert!(refused.hint().is_some_and(|h| h.contains("ctl services")));
    assert_eq!(parse_service("demo/web"), Ok(("demo".into(), "web".into())));
    for bad in ["demo", "/web", "demo/", "a/b/c"] {
        assert!(parse_service(bad).is_err(), "{bad}");
    }
}
