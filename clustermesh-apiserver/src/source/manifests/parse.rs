//! Pure parsing of one manifest file into typed Kubernetes objects.
//!
//! The file is split into documents on `---` lines (as kubectl's YAML reader does) and
//! each document is parsed on its own. That keeps every serde error tied to a location,
//! which parsing into a `Value` first and converting later would lose; the document's
//! first line is then added so that reported lines are absolute within the file.

use std::path::Path;
use std::sync::Arc;

use k8s_openapi::Metadata;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ManifestError;
use super::object::{KubeObject, SourceObject};
use crate::source::ServiceExport;

const SERVICE_EXPORT_API_VERSION: &str = "multicluster.x-k8s.io/v1alpha1";
const DEFAULT_NAMESPACE: &str = "default";

/// Only the metadata of a `ServiceExport` matters; k8s-openapi has no type for it.
#[derive(Deserialize)]
struct RawServiceExport {
    #[serde(default)]
    metadata: ObjectMeta,
}

/// Parses every document of one manifest file. `path` is used only in errors. Documents
/// of unknown kinds (or of a known kind name in another API group) are skipped; any
/// other problem fails the whole file, so a half-edited file never half-applies.
pub fn parse_manifests(path: &Path, contents: &str) -> Result<Vec<SourceObject>, ManifestError> {
    let mut objects = Vec::new();
    for doc in split_documents(contents) {
        if let Some(object) = doc.parse(path)? {
            objects.push(SourceObject {
                line: doc.content_line(),
                object,
            });
        }
    }
    Ok(objects)
}

/// One YAML document and the 1-based line of the file it starts on.
struct Document<'a> {
    first_line: usize,
    text: &'a str,
}

fn split_documents(contents: &str) -> Vec<Document<'_>> {
    let mut docs = Vec::new();
    let (mut start, mut first_line) = (0, 1);
    let mut offset = 0;
    for (index, line) in contents.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if is_separator && offset > start {
            docs.push(Document {
                first_line,
                text: &contents[start..offset],
            });
            (start, first_line) = (offset, index + 1);
        }
        offset += line.len();
    }
    docs.push(Document {
        first_line,
        text: &contents[start..],
    });
    docs
}

impl Document<'_> {
    /// The first line holding content rather than a separator, blank or comment: where a
    /// whole-document problem (a missing name, say) is best reported.
    fn content_line(&self) -> usize {
        self.text
            .lines()
            .position(|l| {
                let l = l.trim();
                !(l.is_empty() || l.starts_with('#') || l == "---" || l.starts_with("--- "))
            })
            .map_or(self.first_line, |i| self.first_line + i)
    }

    fn error(&self, path: &Path, message: impl Into<String>) -> ManifestError {
        ManifestError {
            file: path.to_path_buf(),
            line: Some(self.content_line()),
            message: message.into(),
        }
    }

    fn yaml_error(&self, path: &Path, err: &serde_yaml_ng::Error) -> ManifestError {
        let offset = self.first_line - 1;
        // libyaml reports input that ends too early one line past the end; point at
        // the document's last line instead, which the user can actually find.
        let last_line = self.first_line + self.text.lines().count().max(1) - 1;
        let line = err.location().map(|l| (l.line() + offset).min(last_line));
        let mut message = rebase_lines(&err.to_string(), offset);
        // The primary location is already in `line`; keep the column out of the way.
        if let Some(loc) = err.location() {
            let suffix = format!(" at line {} column {}", loc.line() + offset, loc.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_owned();
            }
        }
        ManifestError {
            file: path.to_path_buf(),
            line: line.or(Some(self.content_line())),
            message,
        }
    }

    fn parse(&self, path: &Path) -> Result<Option<KubeObject>, ManifestError> {
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(self.text).map_err(|e| self.yaml_error(path, &e))?;
        if value.is_null() {
            return Ok(None); // Empty document, e.g. a trailing `---` or only comments.
        }
        if !value.is_mapping() {
            return Err(self.error(path, "a manifest document must be a mapping"));
        }
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
        };
        let api_version =
            field("apiVersion").ok_or_else(|| self.error(path, "apiVersion not set"))?;
        let kind = field("kind").ok_or_else(|| self.error(path, "kind not set"))?;

        let object = match kind {
            "Service" => self
                .typed::<Service>(path, api_version, true)?
                .map(KubeObject::Service),
            "EndpointSlice" => self
                .typed::<EndpointSlice>(path, api_version, true)?
                .map(KubeObject::EndpointSlice),
            "Pod" => self
                .typed::<Pod>(path, api_version, true)?
                .map(|pod| KubeObject::Pod(Arc::new(pod))),
            "Node" => self
                .typed::<Node>(path, api_version, false)?
                .map(KubeObject::Node),
            "Namespace" => self
                .typed::<Namespace>(path, api_version, false)?
                .map(KubeObject::Namespace),
            "ServiceExport" => self
                .service_export(path, api_version)?
                .map(KubeObject::ServiceExport),
            _ => None,
        };
        if object.is_none() {
            tracing::debug!(file = %path.display(), line = self.content_line(), api_version, kind,
                "ignoring manifest of a kind the source does not read");
        }
        Ok(object)
    }

    /// `Ok(None)` when `api_version` belongs to another API group: a different kind that
    /// shares the name (Knative's `Service`), not a mistake.
    fn check_version(
        &self,
        path: &Path,
        kind: &str,
        api_version: &str,
        expected: &str,
    ) -> Result<bool, ManifestError> {
        if api_version == expected {
            return Ok(true);
        }
        if group_of(api_version) != group_of(expected) {
            return Ok(false);
        }
        Err(self.error(
            path,
            format!("unsupported apiVersion {api_version:?} for {kind}; expected {expected:?}"),
        ))
    }

    fn typed<K>(
        &self,
        path: &Path,
        api_version: &str,
        namespaced: bool,
    ) -> Result<Option<K>, ManifestError>
    where
        K: DeserializeOwned + Metadata<Ty = ObjectMeta>,
    {
        if !self.check_version(path, K::KIND, api_version, K::API_VERSION)? {
            return Ok(None);
        }
        let mut object: K =
            serde_yaml_ng::from_str(self.text).map_err(|e| self.yaml_error(path, &e))?;
        self.normalize(path, object.metadata_mut(), namespaced)?;
        Ok(Some(object))
    }

    fn service_export(
        &self,
        path: &Path,
        api_version: &str,
    ) -> Result<Option<ServiceExport>, ManifestError> {
        if !self.check_version(
            path,
            "ServiceExport",
            api_version,
            SERVICE_EXPORT_API_VERSION,
        )? {
            return Ok(None);
        }
        let mut raw: RawServiceExport =
            serde_yaml_ng::from_str(self.text).map_err(|e| self.yaml_error(path, &e))?;
        self.normalize(path, &mut raw.metadata, true)?;
        Ok(Some(ServiceExport {
            namespace: raw.metadata.namespace.unwrap_or_default(),
            name: raw.metadata.name.unwrap_or_default(),
        }))
    }

    /// Applies kubectl's defaults: namespaced objects without a namespace land in
    /// `default`; a namespace on a cluster-scoped object means nothing and is dropped.
    fn normalize(
        &self,
        path: &Path,
        meta: &mut ObjectMeta,
        namespaced: bool,
    ) -> Result<(), ManifestError> {
        if meta.name.as_deref().is_none_or(str::is_empty) {
            return Err(self.error(path, "metadata.name is required"));
        }
        if !namespaced {
            meta.namespace = None;
        } else if meta.namespace.as_deref().is_none_or(str::is_empty) {
            meta.namespace = Some(DEFAULT_NAMESPACE.to_owned());
        }
        Ok(())
    }
}

/// `discovery.k8s.io/v1` → `discovery.k8s.io`; the core group (`v1`) is "".
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Adds `offset` to every `at line N column` in a serde_yaml message, whose marks are
/// relative to the document, so that secondary locations (libyaml's context) are
/// absolute too. Only that exact phrase is touched, so quoted user values survive.
fn rebase_lines(message: &str, offset: usize) -> String {
    const WORD: &str = "at line ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(WORD) {
        let (head, tail) = rest.split_at(at + WORD.len());
        out.push_str(head);
        let digits = tail
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(tail.len());
        match tail[..digits].parse::<usize>() {
            Ok(n) if tail[digits..].starts_with(" column ") => {
                out.push_str(&(n + offset).to_string())
            }
            _ => out.push_str(&tail[..digits]),
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}
