//! The bench binary's hidden modes (`__name`), run by scenarios inside the network
//! namespaces they made (`ip netns exec NS clustermesh-bench __name ...`): the work that
//! must happen in a namespace runs there, in a process of its own.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context as _, bail};

use crate::scenario::lb_scale::{apply, load};

/// Runs the mode `args[0]`; JSON results go to stdout.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let arg = |i: usize, what: &str| {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("{}: missing {what}", args[0]))
    };
    match args[0].as_str() {
        "__accept" => {
            let ports = args[1..]
                .iter()
                .map(|p| p.parse::<u16>().with_context(|| format!("port {p:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            load::accept(&ports)
        }
        "__connect" => {
            let target: SocketAddr = arg(1, "ADDR:PORT")?.parse().context("ADDR:PORT")?;
            let millis: u64 = arg(2, "MILLIS")?.parse().context("MILLIS")?;
            let threads: usize = arg(3, "THREADS")?.parse().context("THREADS")?;
            let source = arg(4, "SOURCE")?.parse().context("SOURCE")?;
            let result = load::connect(source, target, Duration::from_millis(millis), threads);
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        "__apply" => {
            let balancer = apply::Balancer::parse(arg(1, "BALANCER")?)?;
            let count: usize = arg(2, "COUNT")?.parse().context("COUNT")?;
            let changes: u32 = arg(3, "CHANGES")?.parse().context("CHANGES")?;
            let result = apply::apply(balancer, count, changes)?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
        "__agent-memory" => crate::scenario::agent_memory::worker(),
        "__export" => crate::export_only::run(arg(1, "PODS")?.parse().context("PODS")?),
        other => bail!("no mode {other:?}"),
    }
}
