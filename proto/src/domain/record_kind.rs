use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    error::{ValidationError, ValidationErrorKind, shown},
    pb,
};

/// The kinds of records a cluster exports. [`RecordKind::as_str`] is the kind's
/// segment in store keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RecordKind {
    Cluster,
    Node,
    Identity,
    Endpoint,
    GlobalService,
}

impl RecordKind {
    pub const ALL: [RecordKind; 5] = [
        Self::Cluster,
        Self::Node,
        Self::Identity,
        Self::Endpoint,
        Self::GlobalService,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "clusters",
            Self::Node => "nodes",
            Self::Identity => "identities",
            Self::Endpoint => "endpoints",
            Self::GlobalService => "services",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecordKind {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValidationErrorKind::UnknownValue {
                    what: "record kind",
                    value: shown(s),
                    expected: "clusters, nodes, identities, endpoints or services",
                }
                .into()
            })
    }
}

impl TryFrom<String> for RecordKind {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<RecordKind> for String {
    fn from(value: RecordKind) -> Self {
        value.as_str().to_owned()
    }
}

impl From<RecordKind> for pb::RecordKind {
    fn from(kind: RecordKind) -> Self {
        match kind {
            RecordKind::Cluster => Self::Cluster,
            RecordKind::Node => Self::Node,
            RecordKind::Identity => Self::Identity,
            RecordKind::Endpoint => Self::Endpoint,
            RecordKind::GlobalService => Self::GlobalService,
        }
    }
}

impl TryFrom<pb::RecordKind> for RecordKind {
    type Error = ValidationError;

    fn try_from(kind: pb::RecordKind) -> Result<Self, Self::Error> {
        match kind {
            pb::RecordKind::Unspecified => Err(ValidationErrorKind::Unspecified("kind").into()),
            pb::RecordKind::Cluster => Ok(Self::Cluster),
            pb::RecordKind::Node => Ok(Self::Node),
            pb::RecordKind::Identity => Ok(Self::Identity),
            pb::RecordKind::Endpoint => Ok(Self::Endpoint),
            pb::RecordKind::GlobalService => Ok(Self::GlobalService),
        }
    }
}

/// From the raw enum number of a prost field.
impl TryFrom<i32> for RecordKind {
    type Error = ValidationError;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        pb::RecordKind::try_from(value)
            .map_err(|_| ValidationErrorKind::UnknownEnum {
                what: "record kind",
                value,
            })?
            .try_into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        let names: Vec<_> = RecordKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["clusters", "nodes", "identities", "endpoints", "services"]
        );
        for kind in RecordKind::ALL {
            assert_eq!(kind.as_str().parse::<RecordKind>().expect("known"), kind);
            assert_eq!(
                RecordKind::try_from(pb::RecordKind::from(kind) as i32).expect("known"),
                kind
            );
        }
        assert!("synced".parse::<RecordKind>().is_err());
    }

    #[test]
    fn rejects_unspecified_and_unknown_numbers() {
        let err = RecordKind::try_from(0).expect_err("unspecified");
        assert_eq!(err.to_string(), "kind must be specified");
        let err = RecordKind::try_from(99).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown record kind value 99");
    }
}
