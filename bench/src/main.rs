//! `clustermesh-bench [SCENARIO...]`: runs the named scenarios (all when none is named),
//! each against its baseline in the same run, prints a summary per scenario and appends
//! one JSON object per scenario to `bench/results/latest.jsonl` (docs/performance.md).

mod demo;
mod export_only;
mod knobs;
mod kvstoremesh;
mod machine;
mod mesh;
mod record;
mod scenario;
mod stats;
mod worker;

use std::process::ExitCode;

/// The apiservers of the control-plane scenarios run in this process, so it has the
/// apiserver binary's allocator, without huge pages (mimalloc's `no_thp`). The binary
/// also turns them off by `prctl`; this process does not, because the processes it
/// starts (etcd, agents, WireGuard, iperf3) would inherit that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Quiet unless asked: `RUST_LOG=clustermesh_apiserver::exporter=debug` shows where
    // an export round spends its time.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let names: Vec<String> = std::env::args().skip(1).collect();
    if names.first().is_some_and(|n| n.starts_with("__")) {
        return match worker::run(&names) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("clustermesh-bench {}: {e:#}", names[0]);
                ExitCode::FAILURE
            }
        };
    }
    if names.iter().any(|n| n == "-h" || n == "--help") {
        println!("usage: clustermesh-bench [SCENARIO...]\nscenarios:");
        for s in scenario::ALL {
            println!("  {:<12} {}", s.name, s.about);
        }
        return ExitCode::SUCCESS;
    }
    let chosen = match scenario::choose(&names) {
        Ok(chosen) => chosen,
        Err(e) => {
            eprintln!("clustermesh-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let results = record::ResultsFile::default_path();
    let mut failed = Vec::new();
    let all = std::time::Instant::now();
    for s in chosen {
        println!("== {}: {}", s.name, s.about);
        let started = std::time::Instant::now();
        match (s.run)().and_then(|r| results.append(&r).map(|()| r)) {
            Ok(r) => println!("{}", r.summary()),
            Err(e) => {
                eprintln!("{}: {e:#}", s.name);
                failed.push(s.name);
            }
        }
        println!(
            "({} took {:.0} s)\n",
            s.name,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "results appended to {} ({:.0} s in all)",
        results.path.display(),
        all.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("failed scenarios: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}
