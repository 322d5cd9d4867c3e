use std::{fmt, num::NonZeroU16, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrorKind, shown};

use super::ClusterId;

/// A security identity number, `cluster_id << 16 | local`. Putting the cluster in the
/// high half lets every cluster allocate identities on its own without collisions.
// Field order makes the derived ordering the numeric one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct IdentityId {
    cluster: ClusterId,
    local: NonZeroU16,
}

impl IdentityId {
    pub const fn new(cluster: ClusterId, local: NonZeroU16) -> Self {
        Self { cluster, local }
    }

    pub const fn cluster(self) -> ClusterId {
        self.cluster
    }

    pub const fn local(self) -> NonZeroU16 {
        self.local
    }

    pub const fn get(self) -> u32 {
        (self.cluster.get() as u32) << 16 | self.local.get() as u32
    }
}

impl TryFrom<u32> for IdentityId {
    type Error = ValidationError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        let invalid = |reason: String| ValidationErrorKind::IdentityId { value, reason };
        let cluster = ClusterId::try_from(value >> 16)
            .map_err(|_| invalid(format!("cluster part {} out of range 1..=255", value >> 16)))?;
        let local = NonZeroU16::new((value & 0xffff) as u16)
            .ok_or_else(|| invalid("local part 0 out of range 1..=65535".to_owned()))?;
        Ok(Self::new(cluster, local))
    }
}

impl From<IdentityId> for u32 {
    fn from(id: IdentityId) -> Self {
        id.get()
    }
}

impl fmt::Display for IdentityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

impl FromStr for IdentityId {
    type Err = ValidationError;

    /// Only the canonical decimal form, so each id has exactly one store key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_a_number = || ValidationErrorKind::Number {
            what: "identity id",
            value: shown(s),
        };
        let value = s.parse::<u32>().map_err(|_| not_a_number())?;
        if value.to_string() != s {
            return Err(not_a_number().into());
        }
        Self::try_from(value)
    }
}

#[cfg(test)]
mod tests;
