use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    ValidationError,
    error::{ValidationErrorKind, shown},
    pb,
};

/// Which backends of a global service are preferred.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Affinity {
    /// All healthy backends.
    #[default]
    None,
    /// Local backends while any is healthy, remote ones only when none is.
    Local,
    /// The mirror of `Local`.
    Remote,
}

impl Affinity {
    /// The annotation spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Local => "local",
            Self::Remote => "remote",
        }
    }
}

impl fmt::Display for Affinity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses the `clustermesh.io/affinity` annotation value.
impl FromStr for Affinity {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "local" => Ok(Self::Local),
            "remote" => Ok(Self::Remote),
            _ => Err(ValidationErrorKind::UnknownValue {
                what: "affinity",
                value: shown(s),
                expected: "local, remote or none",
            }
            .into()),
        }
    }
}

impl TryFrom<String> for Affinity {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Affinity> for String {
    fn from(value: Affinity) -> Self {
        value.as_str().to_owned()
    }
}

impl From<Affinity> for pb::Affinity {
    fn from(a: Affinity) -> Self {
        match a {
            Affinity::None => Self::None,
            Affinity::Local => Self::Local,
            Affinity::Remote => Self::Remote,
        }
    }
}

impl From<pb::Affinity> for Affinity {
    fn from(a: pb::Affinity) -> Self {
        match a {
            pb::Affinity::None => Self::None,
            pb::Affinity::Local => Self::Local,
            pb::Affinity::Remote => Self::Remote,
        }
    }
}

/// From the raw enum number of a prost field. An unknown number is refused rather than
/// read as `None`, which would silently change where traffic goes.
impl TryFrom<i32> for Affinity {
    type Error = ValidationError;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        pb::Affinity::try_from(value).map(Into::into).map_err(|_| {
            ValidationErrorKind::UnknownEnum {
                what: "affinity",
                value,
            }
            .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        for a in [Affinity::None, Affinity::Local, Affinity::Remote] {
            assert_eq!(a.as_str().parse::<Affinity>().expect("known"), a);
            assert_eq!(
                Affinity::try_from(pb::Affinity::from(a) as i32).expect("known"),
                a
            );
        }
        assert_eq!(Affinity::default(), Affinity::None);
    }

    #[test]
    fn rejects_unknown() {
        let err = "nearest".parse::<Affinity>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown affinity \"nearest\": expected local, remote or none"
        );
        assert!("Local".parse::<Affinity>().is_err());
        let err = Affinity::try_from(3).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown affinity value 3");
    }
}
