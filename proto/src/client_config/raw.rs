//! Parsing: the YAML is read into plain strings first, then each context is validated
//! by hand, so an error can name the context and the field instead of only a line.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{ClientConfig, ClientConfigError, Context};
use crate::{ClusterName, HostPort};

#[derive(Deserialize)]
#[serde(
    rename_all = "kebab-case",
    deny_unknown_fields,
    expecting = "a mapping of current-context and contexts"
)]
struct RawConfig {
    #[serde(default)]
    current_context: Option<String>,
    #[serde(default)]
    contexts: Vec<RawContext>,
}

#[derive(Deserialize)]
#[serde(
    rename_all = "kebab-case",
    deny_unknown_fields,
    expecting = "a context: a mapping of name, server, cluster, certificate-authority, client-certificate and client-key"
)]
struct RawContext {
    name: String,
    server: String,
    cluster: String,
    certificate_authority: PathBuf,
    client_certificate: PathBuf,
    client_key: PathBuf,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<ClientConfig, ClientConfigError> {
    // An empty (or all-comment) file is an empty config, like a missing one.
    let blank = |line: &str| line.trim().is_empty() || line.trim_start().starts_with('#');
    if text.lines().all(blank) {
        return Ok(ClientConfig::default());
    }
    let raw: RawConfig = serde_yaml_ng::from_str(text).map_err(|e| ClientConfigError::Parse {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    let mut names = BTreeSet::new();
    let mut contexts = Vec::with_capacity(raw.contexts.len());
    for (index, raw) in raw.contexts.into_iter().enumerate() {
        let context = validate_context(raw, index, base).map_err(|(context, reason)| {
            ClientConfigError::InvalidContext {
                path: path.to_owned(),
                context,
                reason,
            }
        })?;
        if !names.insert(context.name.clone()) {
            return Err(ClientConfigError::InvalidContext {
                path: path.to_owned(),
                context: format!("{:?}", context.name.as_str()),
                reason: "defined more than once; context names must be unique".into(),
            });
        }
        contexts.push(context);
    }
    let current_context = raw
        .current_context
        .map(|name| {
            ClusterName::new(&name).map_err(|e| ClientConfigError::Invalid {
                path: path.to_owned(),
                reason: format!("current-context: {e}"),
            })
        })
        .transpose()?;
    Ok(ClientConfig {
        current_context,
        contexts,
    })
}

/// On error: how to name the context (its name, or its position when the name is the
/// problem), and what is wrong.
fn validate_context(
    raw: RawContext,
    index: usize,
    base: &Path,
) -> Result<Context, (String, String)> {
    let name = ClusterName::new(&raw.name).map_err(|e| {
        (
            format!("#{} (contexts[{index}])", index + 1),
            format!("name: {e}"),
        )
    })?;
    let shown_name = format!("{:?}", name.as_str());
    let fail = |field: &str, reason: String| (shown_name.clone(), format!("{field}: {reason}"));
    let server: HostPort = raw
        .server
        .parse()
        .map_err(|e: crate::ValidationError| fail("server", e.to_string()))?;
    let cluster = ClusterName::new(&raw.cluster).map_err(|e| fail("cluster", e.to_string()))?;
    let file = |field: &str, path: PathBuf| {
        if path.as_os_str().is_empty() {
            return Err(fail(field, "must not be empty".into()));
        }
        Ok(base.join(path))
    };
    Ok(Context {
        certificate_authority: file("certificate-authority", raw.certificate_authority)?,
        client_certificate: file("client-certificate", raw.client_certificate)?,
        client_key: file("client-key", raw.client_key)?,
        name,
        server,
        cluster,
    })
}
