//! The human table and the JSON lines appended to `bench/results/store.jsonl`.
//!
//! The JSON is written by hand: the crate has no `serde_json` dev-dependency, and the
//! records are flat numbers and a few strings.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::scenarios::{
    LIST_KEYS, ListFigures, MANY_WRITERS, PUT_DURATION, VALUE_BYTES, WATCH_PUTS, WATCHERS,
    WatchFigures,
};

#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub one_writer: f64,
    pub many_writers: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Figures {
    pub puts: Throughput,
    /// The same writes sent to a raft follower, which forwards them to the leader.
    pub follower_puts: Option<Throughput>,
    pub watch: WatchFigures,
    pub list: ListFigures,
}

pub struct Outcome {
    pub backend: &'static str,
    pub figures: anyhow::Result<Figures>,
}

pub fn print_table(outcomes: &[Outcome]) {
    let header = vec![
        "backend".to_owned(),
        "puts/s 1 writer".to_owned(),
        format!("puts/s {MANY_WRITERS} writers"),
        "watch p50".to_owned(),
        "p99".to_owned(),
        "max".to_owned(),
        format!("list {}k ms (first/best)", LIST_KEYS / 1_000),
    ];
    let mut rows = vec![header];
    for outcome in outcomes {
        match &outcome.figures {
            Ok(f) => {
                rows.push(vec![
                    outcome.backend.to_owned(),
                    format!("{:.0}", f.puts.one_writer),
                    format!("{:.0}", f.puts.many_writers),
                    latency(f.watch.p50_us),
                    latency(f.watch.p99_us),
                    latency(f.watch.max_us),
                    format!("{:.1} / {:.1}", f.list.first_ms, f.list.best_ms),
                ]);
                if let Some(follower) = f.follower_puts {
                    let mut row = vec![format!("{} via follower", outcome.backend)];
                    row.push(format!("{:.0}", follower.one_writer));
                    row.push(format!("{:.0}", follower.many_writers));
                    row.extend(std::iter::repeat_n("-".to_owned(), 4));
                    rows.push(row);
                }
            }
            Err(err) => rows.push(vec![outcome.backend.to_owned(), format!("FAILED: {err:#}")]),
        }
    }
    let columns = rows[0].len();
    // The error cell may be long: it does not widen the columns of the figures.
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter(|r| r.len() == columns)
                .map(|r| r[c].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    println!();
    for (i, row) in rows.iter().enumerate() {
        if i == 1 {
            let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            println!("|-{}-|", rules.join("-|-"));
        }
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("| {} |", cells.join(" | ").trim_end());
    }
    println!(
        "\n{VALUE_BYTES} B values; puts: distinct keys for {PUT_DURATION:?} per figure; \
         watch: {WATCHERS} watchers x {WATCH_PUTS} paced puts, latency put issued -> watcher saw it"
    );
}

fn latency(us: u64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else {
        format!("{:.2} ms", us as f64 / 1_000.0)
    }
}

/// Appends one line per backend, failures included, so a missing row is never mistaken
/// for a skipped one.
pub fn append_jsonl(workspace: &Path, outcomes: &[Outcome]) -> anyhow::Result<std::path::PathBuf> {
    let dir = workspace.join("bench/results");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("store.jsonl");
    let common = common_fields(workspace);
    let mut lines = String::new();
    for outcome in outcomes {
        let _ = write!(
            lines,
            "{{\"scenario\":\"store\",\"backend\":{},{common}",
            json_str(outcome.backend)
        );
        match &outcome.figures {
            Ok(f) => {
                let _ = writeln!(lines, ",\"figures\":{}}}", figures_json(f));
            }
            Err(err) => {
                let _ = writeln!(
                    lines,
                    ",\"figures\":null,\"error\":{}}}",
                    json_str(&format!("{err:#}"))
                );
            }
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(lines.as_bytes())
        .with_context(|| format!("appending to {}", path.display()))?;
    Ok(path)
}

fn figures_json(f: &Figures) -> String {
    let mut fields = vec![
        ("value_bytes", VALUE_BYTES as f64),
        ("put_seconds", PUT_DURATION.as_secs_f64()),
        ("puts_per_sec_1_writer", f.puts.one_writer.round()),
        ("puts_per_sec_64_writers", f.puts.many_writers.round()),
    ];
    if let Some(follower) = f.follower_puts {
        fields.push((
            "follower_puts_per_sec_1_writer",
            follower.one_writer.round(),
        ));
        fields.push((
            "follower_puts_per_sec_64_writers",
            follower.many_writers.round(),
        ));
    }
    fields.extend([
        ("watchers", WATCHERS as f64),
        ("watch_puts", WATCH_PUTS as f64),
        ("watch_samples", f.watch.samples as f64),
        ("watch_p50_us", f.watch.p50_us as f64),
        ("watch_p99_us", f.watch.p99_us as f64),
        ("watch_max_us", f.watch.max_us as f64),
        ("watch_put_p50_us", f.watch.put_p50_us as f64),
        ("watch_put_p99_us", f.watch.put_p99_us as f64),
        ("watch_put_max_us", f.watch.put_max_us as f64),
        ("watch_first_event_us", f.watch.first_event_us as f64),
        ("list_keys", LIST_KEYS as f64),
        ("list_load_ms", round3(f.list.load_ms)),
        ("list_first_ms", round3(f.list.first_ms)),
        ("list_best_ms", round3(f.list.best_ms)),
    ]);
    let body: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("\"{name}\":{}", json_num(*value)))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// `"machine":…,"git_commit":…,"unix_time":…`, the same for every line of one run.
fn common_fields(workspace: &Path) -> String {
    let proc = |path: &str| std::fs::read_to_string(path).ok();
    let cores =
        proc("/proc/cpuinfo").map(|s| s.lines().filter(|l| l.starts_with("processor")).count());
    let memory_bytes = proc("/proc/meminfo").and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    let kernel = proc("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned());
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(workspace)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "HEAD"]);
    // Uncommitted changes make the commit an approximation of what was measured.
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    let unix_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "\"machine\":{{\"cores\":{},\"memory_bytes\":{},\"kernel\":{}}},\
         \"git_commit\":{},\"git_dirty\":{},\"unix_time\":{unix_time}",
        or_null(cores),
        or_null(memory_bytes),
        kernel.as_deref().map_or("null".to_owned(), json_str),
        commit.as_deref().map_or("null".to_owned(), json_str),
        or_null(dirty),
    )
}

fn or_null(value: Option<impl ToString>) -> String {
    value.map_or("null".to_owned(), |v| v.to_string())
}

fn round3(value: f64) -> f64 {
    (value * 1_000.0).round() / 1_000.0
}

/// JSON has no NaN or infinity.
fn json_num(value: f64) -> String {
    if value.is_finite() {
        value.to_string()
    } else {
        "null".to_owned()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
