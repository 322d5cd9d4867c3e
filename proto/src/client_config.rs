//! The ctl config file: a kubeconfig-like list of contexts, each naming an apiserver
//! and the CA and admin certificate to reach it with. `clustermesh-apiserver init`
//! adds contexts; `ctl` reads them.
//!
//! ```yaml
//! current-context: a
//! contexts:
//! - name: a
//!   server: 127.0.0.1:7443
//!   cluster: a
//!   certificate-authority: /abs/path/ca.crt
//!   client-certificate: /abs/path/admin.crt
//!   client-key: /abs/path/admin.key
//! ```
//!
//! Relative file paths are resolved against the config file's directory, as kubectl
//! does, so a config and its certificates can be moved together.

mod error;
mod raw;
mod tls;
mod write;

use std::{
    ffi::OsString,
    io,
    path::{Path, PathBuf},
};

use serde::Serialize;

pub use self::error::ClientConfigError;
use crate::{ClusterName, HostPort};

/// The environment variable that overrides [`ClientConfig::default_path`].
pub const CONFIG_ENV: &str = "CLUSTERMESH_CONFIG";

/// The config file below `$HOME` when [`CONFIG_ENV`] is not set.
pub const DEFAULT_RELATIVE_PATH: &str = ".config/clustermesh/config.yaml";

/// The whole ctl config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ClientConfig {
    /// The context used when none is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_context: Option<ClusterName>,
    /// Unique by name.
    pub contexts: Vec<Context>,
}

/// How to reach one cluster's apiserver as an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Context {
    pub name: ClusterName,
    /// Where the apiserver listens, `host:port`.
    pub server: HostPort,
    /// The cluster the apiserver serves; its certificate is checked against
    /// [`crate::tls::apiserver_server_name`] of this name, whatever `server` is.
    pub cluster: ClusterName,
    pub certificate_authority: PathBuf,
    pub client_certificate: PathBuf,
    pub client_key: PathBuf,
}

impl ClientConfig {
    /// Reads and validates `path`. A missing file is an empty config, so the first
    /// `init` on a host needs no setup.
    pub fn load(path: &Path) -> Result<Self, ClientConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => raw::parse(path, &text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ClientConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the config to `path` atomically (a temporary file in the same directory,
    /// then a rename) with mode 0600, creating missing parent directories with mode
    /// 0700. It names key files, so it is kept private.
    pub fn save(&self, path: &Path) -> Result<(), ClientConfigError> {
        let text = serde_yaml_ng::to_string(self).map_err(|e| ClientConfigError::Write {
            path: path.to_owned(),
            source: io::Error::other(e),
        })?;
        write::atomic_private(path, text.as_bytes()).map_err(|source| ClientConfigError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Adds `context`, replacing (and returning) one of the same name; it becomes the
    /// current context if there is none.
    pub fn upsert_context(&mut self, context: Context) -> Option<Context> {
        if self.current_context.is_none() {
            self.current_context = Some(context.name.clone());
        }
        match self.contexts.iter_mut().find(|c| c.name == context.name) {
            Some(existing) => Some(std::mem::replace(existing, context)),
            None => {
                self.contexts.push(context);
                None
            }
        }
    }

    /// The context called `name`, or the current context when `name` is `None`.
    pub fn context(&self, name: Option<&str>) -> Result<&Context, ClientConfigError> {
        let available = || {
            let names: Vec<&str> = self.contexts.iter().map(|c| c.name.as_str()).collect();
            if names.is_empty() {
                "none; run `clustermesh-apiserver init` to add one".to_owned()
            } else {
                names.join(", ")
            }
        };
        let name = match (name, &self.current_context) {
            (Some(name), _) => name,
            (None, Some(current)) => current.as_str(),
            (None, None) => {
                return Err(ClientConfigError::NoCurrentContext {
                    available: available(),
                });
            }
        };
        self.contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| ClientConfigError::NoSuchContext {
                name: crate::error::shown(name),
                available: available(),
            })
    }

    /// `$CLUSTERMESH_CONFIG`, else `$HOME/.config/clustermesh/config.yaml`.
    pub fn default_path() -> Result<PathBuf, ClientConfigError> {
        default_path_from(std::env::var_os(CONFIG_ENV), std::env::var_os("HOME"))
    }
}

/// [`ClientConfig::default_path`] with the environment passed in, for tests. Empty
/// variables count as unset, as shells make it easy to set one to "".
fn default_path_from(
    config: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, ClientConfigError> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    if let Some(path) = set(config) {
        return Ok(PathBuf::from(path));
    }
    set(home)
        .map(|home| PathBuf::from(home).join(DEFAULT_RELATIVE_PATH))
        .ok_or(ClientConfigError::NoDefaultPath)
}

#[cfg(test)]
mod tests;
