use std::{fmt, num::NonZeroU8, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrorKind, shown};

/// A cluster's numeric id, 1..=255. It forms the high half of identity ids, so two
/// clusters with the same id would confuse each other's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ClusterId(NonZeroU8);

impl ClusterId {
    pub const MIN: Self = Self(NonZeroU8::MIN);
    pub const MAX: Self = Self(NonZeroU8::MAX);

    pub const fn new(id: NonZeroU8) -> Self {
        Self(id)
    }

    pub const fn get(self) -> u8 {
        self.0.get()
    }
}

impl TryFrom<u32> for ClusterId {
    type Error = ValidationError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        u8::try_from(value)
            .ok()
            .and_then(NonZeroU8::new)
            .map(Self)
            .ok_or_else(|| ValidationErrorKind::ClusterId(value).into())
    }
}

impl From<ClusterId> for u32 {
    fn from(id: ClusterId) -> Self {
        u32::from(id.get())
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ClusterId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = s.parse::<u32>().map_err(|_| ValidationErrorKind::Number {
            what: "cluster id",
            value: shown(s),
        })?;
        Self::try_from(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_1_to_255() {
        assert_eq!(ClusterId::try_from(1).expect("valid"), ClusterId::MIN);
        assert_eq!(ClusterId::try_from(255).expect("valid"), ClusterId::MAX);
        for bad in [0, 256, u32::MAX] {
            let err = ClusterId::try_from(bad).expect_err("out of range");
            assert_eq!(
                err.to_string(),
                format!("cluster id {bad} out of range 1..=255")
            );
        }
    }

    #[test]
    fn parses_and_displays() {
        let id: ClusterId = "42".parse().expect("valid");
        assert_eq!(id.get(), 42);
        assert_eq!(id.to_string(), "42");
        assert_eq!(u32::from(id), 42);
        assert!("0".parse::<ClusterId>().is_err());
        assert!("x".parse::<ClusterId>().is_err());
    }

    #[test]
    fn serde_is_a_validated_number() {
        let id: ClusterId = serde_json::from_str("7").expect("valid");
        assert_eq!(serde_json::to_string(&id).expect("serializes"), "7");
        assert!(serde_json::from_str::<ClusterId>("0").is_err());
        assert!(serde_json::from_str::<ClusterId>("300").is_err());
    }
}
