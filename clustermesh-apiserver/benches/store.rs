//! Store micro-benchmark: put throughput, watch fan-out latency and a 100k-key list for
//! every backend. Prints a table and appends one JSON line per backend to
//! `bench/results/store.jsonl`.
//!
//! `cargo bench -p clustermesh-apiserver --bench store [-- FILTER]` runs the backends
//! whose name contains FILTER (`memory`, `raft-1`, `raft-3`, `etcd`).

#[path = "store/backends.rs"]
mod backends;
#[path = "store/report.rs"]
mod report;
#[path = "store/scenarios.rs"]
mod scenarios;

use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clustermesh_apiserver::store::Store;
use tracing_subscriber::EnvFilter;

use backends::Backend;
use report::{Figures, Outcome, Throughput};
use scenarios::MANY_WRITERS;

/// Far above a healthy backend's ~30 s: a wedged one fails instead of hanging the run.
const BACKEND_DEADLINE: Duration = Duration::from_secs(150);

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        // openraft logs every lost vote while a replica set elects its first leader; a
        // real failure fails the backend anyway. RUST_LOG overrides this.
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,openraft=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    // cargo passes flags such as `--bench`; the first plain argument is the filter.
    let filter = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: building the tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(filter.as_deref())) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the selected backends; `Ok(false)` when any of them failed.
async fn run(filter: Option<&str>) -> anyhow::Result<bool> {
    let selected: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|b| filter.is_none_or(|f| b.name().contains(f)))
        .collect();
    if selected.is_empty() {
        anyhow::bail!("no backend matches {filter:?}; backends: memory, raft-1, raft-3, etcd");
    }
    let started = Instant::now();
    let mut outcomes = Vec::new();
    for backend in selected {
        eprintln!(
            "[{:>5.1}s] {}",
            started.elapsed().as_secs_f64(),
            backend.name()
        );
        let figures = tokio::time::timeout(BACKEND_DEADLINE, measure(backend))
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "did not finish within {BACKEND_DEADLINE:?}"
                ))
            });
        if let Err(err) = &figures {
            eprintln!("{}: FAILED: {err:#}", backend.name());
        }
        outcomes.push(Outcome {
            backend: backend.name(),
            figures,
        });
    }
    report::print_table(&outcomes);
    println!("whole run: {:.1} s", started.elapsed().as_secs_f64());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .parent()
        .context("the crate has no parent directory")?;
    let path = report::append_jsonl(workspace, &outcomes)?;
    println!("appended to {}", path.display());
    Ok(outcomes.iter().all(|o| o.figures.is_ok()))
}

async fn measure(backend: Backend) -> anyhow::Result<Figures> {
    // Throughput runs last: freeing the hundreds of thousands of keys it wrote keeps the
    // allocator busy for tens of milliseconds, which a later scenario would measure.
    let watch = on_fresh(backend, |store, _| scenarios::watch_fanout(store))
        .await
        .context("watch fan-out")?;
    let list = on_fresh(backend, |store, _| scenarios::list_100k(store))
        .await
        .context("list")?;
    let (puts, follower_puts) = on_fresh(backend, |store, follower| async move {
        let puts = throughput(store, "bench/put").await?;
        let follower_puts = match follower {
            Some(follower) => Some(throughput(follower, "bench/follower-put").await?),
            None => None,
        };
        anyhow::Ok((puts, follower_puts))
    })
    .await
    .context("put throughput")?;
    Ok(Figures {
        puts,
        follower_puts,
        watch,
        list,
    })
}

async fn throughput(store: Arc<dyn Store>, prefix: &str) -> anyhow::Result<Throughput> {
    Ok(Throughput {
        one_writer: scenarios::put_throughput(store.clone(), 1, &format!("{prefix}/one")).await?,
        many_writers: scenarios::put_throughput(store, MANY_WRITERS, &format!("{prefix}/many"))
            .await?,
    })
}

/// Runs `scenario` against a freshly started backend (leader, optional follower) and
/// stops the backend afterwards, whether the scenario succeeded or not.
async fn on_fresh<T, F, Fut>(backend: Backend, scenario: F) -> anyhow::Result<T>
where
    F: FnOnce(Arc<dyn Store>, Option<Arc<dyn Store>>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let target = backend.start().await?;
    let result = scenario(target.store.clone(), target.follower.clone()).await;
    target.stop().await;
    result
}
