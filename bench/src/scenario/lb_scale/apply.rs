//! Installing the services, run inside the node's namespace by the bench binary itself
//! (`__apply`): the full set from nothing, then one backend change at a time. The agent
//! side goes through the agent's own nftables executor; the baseline through
//! `iptables-restore`, as kube-proxy does.

use std::{
    io::Write as _,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, bail};
use node_agent::{exec::Services as _, nft::NftServices};
use serde::{Deserialize, Serialize};

use super::services;
use crate::stats::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balancer {
    /// The agent's nftables executor.
    Agent,
    /// A linear iptables chain (the kube-proxy iptables model).
    Iptables,
}

impl Balancer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Iptables => "iptables",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Self> {
        match name {
            "agent" => Ok(Self::Agent),
            "iptables" => Ok(Self::Iptables),
            other => bail!("no balancer {other:?} (agent, iptables)"),
        }
    }
}

/// What `__apply` prints as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApplyResult {
    pub full_ms: f64,
    pub one_change_ms: Option<Summary>,
}

/// Installs `count` services, then makes `changes` one-backend changes.
pub fn apply(balancer: Balancer, count: usize, changes: u32) -> anyhow::Result<ApplyResult> {
    let timed = |f: &mut dyn FnMut() -> anyhow::Result<()>| {
        let t0 = Instant::now();
        f().map(|()| t0.elapsed().as_secs_f64() * 1e3)
    };
    match balancer {
        Balancer::Agent => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("a tokio runtime")?;
            let nft = NftServices::new();
            let run = |update: node_agent::exec::ServiceUpdate| {
                runtime
                    .block_on(nft.apply(&update))
                    .with_context(|| format!("the agent's nft executor ({count} services)"))
            };
            let full = services::agent_full(count);
            let full_ms = timed(&mut || run(full.clone()))?;
            let mut one = Vec::new();
            for g in 1..=changes {
                let update = services::agent_one_change(count, g);
                one.push(timed(&mut || run(update.clone()))?);
            }
            Ok(ApplyResult {
                full_ms,
                one_change_ms: Summary::of(&one),
            })
        }
        Balancer::Iptables => {
            let full = services::iptables_full(count);
            let full_ms = timed(&mut || iptables_restore(&full, false))?;
            let mut one = Vec::new();
            for g in 1..=changes {
                let text = services::iptables_one_change(count, g);
                one.push(timed(&mut || iptables_restore(&text, true))?);
            }
            Ok(ApplyResult {
                full_ms,
                one_change_ms: Summary::of(&one),
            })
        }
    }
}

fn iptables_restore(text: &str, noflush: bool) -> anyhow::Result<()> {
    let mut cmd = Command::new("iptables-restore");
    if noflush {
        cmd.arg("--noflush");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running iptables-restore (Debian package iptables)")?;
    // A failure to write means it exited early; its stderr says why.
    let written = child
        .stdin
        .take()
        .context("iptables-restore's stdin")?
        .write_all(text.as_bytes());
    let out = child
        .wait_with_output()
        .context("waiting for iptables-restore")?;
    if !out.status.success() {
        bail!(
            "iptables-restore{} failed ({}): {}",
            if noflush { " --noflush" } else { "" },
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    written.context("writing to iptables-restore")?;
    Ok(())
}
