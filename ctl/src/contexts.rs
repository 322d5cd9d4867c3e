//! `ctl context list`: what the config file holds; nothing is dialled.

use clustermesh_proto::client_config::ClientConfig;
use serde::Serialize;

use crate::output::{Io, Table, Tone};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextList {
    pub current_context: Option<String>,
    pub contexts: Vec<ContextEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextEntry {
    pub name: String,
    pub cluster: String,
    pub server: String,
    pub current: bool,
    pub certificate_authority: String,
    pub client_certificate: String,
    pub client_key: String,
}

pub fn list(config: &ClientConfig) -> ContextList {
    let current = config.current_context.as_ref().map(ToString::to_string);
    let contexts = config
        .contexts
        .iter()
        .map(|c| ContextEntry {
            name: c.name.to_string(),
            cluster: c.cluster.to_string(),
            server: c.server.to_string(),
            current: current.as_deref() == Some(c.name.as_str()),
            certificate_authority: c.certificate_authority.display().to_string(),
            client_certificate: c.client_certificate.display().to_string(),
            client_key: c.client_key.display().to_string(),
        })
        .collect();
    ContextList {
        current_context: current,
        contexts,
    }
}

pub fn render(list: &ContextList, io: &mut Io<'_>) -> std::io::Result<()> {
    if list.contexts.is_empty() {
        return io.line("no contexts; add one with `clustermesh-apiserver init`");
    }
    let mut table = Table::new(["CURRENT", "NAME", "CLUSTER", "SERVER", "CLIENT CERTIFICATE"]);
    for c in &list.contexts {
        let (mark, tone) = if c.current {
            ("*", Tone::Good)
        } else {
            ("", Tone::Plain)
        };
        table.toned_row([
            (mark.to_owned(), tone),
            (c.name.clone(), tone),
            (c.cluster.clone(), Tone::Plain),
            (c.server.clone(), Tone::Plain),
            (c.client_certificate.clone(), Tone::Dim),
        ]);
    }
    for line in table.render(io.paint()) {
        io.line(line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
