use std::{fmt, net::IpAddr, str::FromStr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrorKind, shown};

/// A canonical IP prefix: no host bits set. `10.1.0.5/16` is refused rather than
/// silently truncated, because it usually means a typo in some other digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Cidr(IpNet);

impl Cidr {
    pub fn new(net: IpNet) -> Result<Self, ValidationError> {
        let canonical = net.trunc();
        if canonical != net {
            return Err(ValidationErrorKind::CidrHostBits {
                value: net.to_string(),
                canonical: canonical.to_string(),
            }
            .into());
        }
        Ok(Self(net))
    }

    pub fn net(&self) -> IpNet {
        self.0
    }

    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.contains(ip)
    }

    /// Whether any address is in both. Prefixes either nest or are disjoint, so this is
    /// containment one way or the other; prefixes of different families never overlap.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.0.contains(&other.0) || other.0.contains(&self.0)
    }
}

/// The first pair `(x, y)` with `x` from `a` and `y` from `b` that overlap.
pub fn first_overlap(a: &[Cidr], b: &[Cidr]) -> Option<(Cidr, Cidr)> {
    a.iter()
        .find_map(|x| b.iter().find(|y| x.overlaps(y)).map(|y| (*x, *y)))
}

/// Indices `(i, j)`, `i < j`, of the first two overlapping entries of one list.
pub fn first_overlap_within(cidrs: &[Cidr]) -> Option<(usize, usize)> {
    cidrs.iter().enumerate().find_map(|(i, x)| {
        cidrs[i + 1..]
            .iter()
            .position(|y| x.overlaps(y))
            .map(|offset| (i, i + 1 + offset))
    })
}

/// Parses `field[i]` entries and refuses overlaps inside the list; used for the pod
/// CIDRs of clusters and nodes.
pub(crate) fn parse_cidr_list(
    field: &str,
    values: &[String],
) -> Result<Vec<Cidr>, ValidationError> {
    let cidrs = values
        .iter()
        .enumerate()
        .map(|(i, v)| v.parse::<Cidr>().map_err(|e| e.at(format!("{field}[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((i, j)) = first_overlap_within(&cidrs) {
        return Err(ValidationError::from(ValidationErrorKind::CidrOverlap {
            cidr: cidrs[j].to_string(),
            other: cidrs[i].to_string(),
            other_path: format!("{field}[{i}]"),
        })
        .at(format!("{field}[{j}]")));
    }
    Ok(cidrs)
}

impl FromStr for Cidr {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let net = s.parse::<IpNet>().map_err(|_| {
            let reason = if s.contains('/') {
                "expected an address and a prefix length, like 10.0.0.0/16 or fd00::/64"
            } else {
                "missing the prefix length, like /16"
            };
            ValidationErrorKind::Cidr {
                value: shown(s),
                reason: reason.to_owned(),
            }
        })?;
        Self::new(net)
    }
}

impl TryFrom<String> for Cidr {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Cidr> for String {
    fn from(value: Cidr) -> Self {
        value.to_string()
    }
}

impl From<Cidr> for IpNet {
    fn from(value: Cidr) -> Self {
        value.0
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests;
