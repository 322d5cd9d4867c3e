//! The store layout: `<cluster>/<kind>/<name>` for records and
//! `<cluster>/synced/<kind>` for synced markers. Every record has exactly one key, so
//! names are checked to be in canonical form when parsed.

use std::{fmt, net::IpAddr};

use crate::{ClusterName, DnsLabel, DnsSubdomain, IdentityId, RecordKind, ValidationError};

/// The kind segment of synced marker keys. It is not a record kind name, so the two
/// key families never collide.
const SYNCED: &str = "synced";

const RECORD_SHAPE: &str = "<cluster>/<kind>/<name>";

/// A record's key, `<cluster>/<kind>/<name>`. The name is the node name, the identity
/// id, the endpoint IP, or `<namespace>/<name>` for a global service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey {
    cluster: ClusterName,
    kind: RecordKind,
    name: String,
}

/// A synced marker's key, `<cluster>/synced/<kind>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyncedKey {
    pub cluster: ClusterName,
    pub kind: RecordKind,
}

/// Either kind of key, for watchers of a whole `<cluster>/` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnyKey {
    Record(StoreKey),
    Synced(SyncedKey),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("invalid store key {key:?}: expected {expected}")]
    Shape { key: String, expected: &'static str },
    #[error("invalid store key {key:?}: {error}")]
    Segment { key: String, error: ValidationError },
    #[error("invalid store key {key:?}: name is not canonical, expected {canonical:?}")]
    NotCanonical { key: String, canonical: String },
}

impl StoreKey {
    /// Checks that `name` is a valid, canonical name for `kind`.
    pub fn new(
        cluster: ClusterName,
        kind: RecordKind,
        name: impl Into<String>,
    ) -> Result<Self, KeyError> {
        let key = Self {
            cluster,
            kind,
            name: name.into(),
        };
        key.check_name()?;
        Ok(key)
    }

    /// For names built from validated records, which are canonical by construction.
    pub(crate) fn from_valid(cluster: ClusterName, kind: RecordKind, name: String) -> Self {
        Self {
            cluster,
            kind,
            name,
        }
    }

    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let shape = || KeyError::Shape {
            key: shorten(key),
            expected: RECORD_SHAPE,
        };
        let (cluster, rest) = key.split_once('/').ok_or_else(shape)?;
        let (kind, name) = rest.split_once('/').ok_or_else(shape)?;
        let segment = |error| KeyError::Segment {
            key: shorten(key),
            error,
        };
        let cluster = ClusterName::new(cluster).map_err(segment)?;
        let kind = kind.parse::<RecordKind>().map_err(segment)?;
        Self::new(cluster, kind, name)
    }

    pub fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn check_name(&self) -> Result<(), KeyError> {
        let name = self.name.as_str();
        let canonical = match self.kind {
            RecordKind::Cluster => ClusterName::new(name).map(|_| None),
            RecordKind::Node => DnsSubdomain::new(name).map(|_| None),
            RecordKind::Identity => name.parse::<IdentityId>().map(|_| None),
            RecordKind::Endpoint => crate::domain::ip::parse_ip(name)
                .map(|ip: IpAddr| Some(ip.to_string()).filter(|c| c != name)),
            RecordKind::GlobalService => match name.split_once('/') {
                None => {
                    return Err(KeyError::Shape {
                        key: shorten(&self.to_string()),
                        expected: "<cluster>/services/<namespace>/<name>",
                    });
                }
                Some((ns, svc)) => DnsLabel::new(ns).and(DnsLabel::new(svc)).map(|_| None),
            },
        };
        match canonical {
            Ok(None) => Ok(()),
            Ok(Some(canonical)) => Err(KeyError::NotCanonical {
                key: shorten(&self.to_string()),
                canonical,
            }),
            Err(error) => Err(KeyError::Segment {
                key: shorten(&self.to_string()),
                error,
            }),
        }
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.cluster, self.kind, self.name)
    }
}

impl SyncedKey {
    pub fn new(cluster: ClusterName, kind: RecordKind) -> Self {
        Self { cluster, kind }
    }

    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let shape = || KeyError::Shape {
            key: shorten(key),
            expected: "<cluster>/synced/<kind>",
        };
        let (cluster, rest) = key.split_once('/').ok_or_else(shape)?;
        let kind = rest.strip_prefix("synced/").ok_or_else(shape)?;
        let segment = |error| KeyError::Segment {
            key: shorten(key),
            error,
        };
        Ok(Self {
            cluster: ClusterName::new(cluster).map_err(segment)?,
            kind: kind.parse().map_err(segment)?,
        })
    }
}

impl fmt::Display for SyncedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{SYNCED}/{}", self.cluster, self.kind)
    }
}

impl AnyKey {
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        let is_synced = key
            .split('/')
            .nth(1)
            .is_some_and(|segment| segment == SYNCED);
        if is_synced {
            SyncedKey::parse(key).map(Self::Synced)
        } else {
            StoreKey::parse(key).map(Self::Record)
        }
    }

    pub fn cluster(&self) -> &ClusterName {
        match self {
            Self::Record(k) => k.cluster(),
            Self::Synced(k) => &k.cluster,
        }
    }
}

impl fmt::Display for AnyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Record(k) => k.fmt(f),
            Self::Synced(k) => k.fmt(f),
        }
    }
}

/// `<cluster>/`: everything one cluster exports.
pub fn cluster_prefix(cluster: &ClusterName) -> String {
    format!("{cluster}/")
}

/// `<cluster>/<kind>/`: all records of one kind.
pub fn kind_prefix(cluster: &ClusterName, kind: RecordKind) -> String {
    format!("{cluster}/{kind}/")
}

/// `<cluster>/synced/`: all synced markers of one cluster.
pub fn synced_prefix(cluster: &ClusterName) -> String {
    format!("{cluster}/{SYNCED}/")
}

fn shorten(key: &str) -> String {
    crate::error::shown(key)
}

#[cfg(test)]
mod tests;
