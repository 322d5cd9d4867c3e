use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    ValidationError,
    error::{ValidationErrorKind, shown},
    pb,
};

/// A transport protocol, spelled as in Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "TCP" => Ok(Self::Tcp),
            "UDP" => Ok(Self::Udp),
            "SCTP" => Ok(Self::Sctp),
            _ => Err(ValidationErrorKind::UnknownValue {
                what: "protocol",
                value: shown(s),
                expected: "TCP, UDP or SCTP",
            }
            .into()),
        }
    }
}

impl TryFrom<String> for Protocol {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Protocol> for String {
    fn from(value: Protocol) -> Self {
        value.as_str().to_owned()
    }
}

impl From<Protocol> for pb::Protocol {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::Tcp => Self::Tcp,
            Protocol::Udp => Self::Udp,
            Protocol::Sctp => Self::Sctp,
        }
    }
}

/// From the raw enum number of a prost field. Unspecified is refused: the exporter
/// always knows the protocol, and guessing TCP would hide its bugs.
impl TryFrom<i32> for Protocol {
    type Error = ValidationError;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        match pb::Protocol::try_from(value) {
            Ok(pb::Protocol::Tcp) => Ok(Self::Tcp),
            Ok(pb::Protocol::Udp) => Ok(Self::Udp),
            Ok(pb::Protocol::Sctp) => Ok(Self::Sctp),
            Ok(pb::Protocol::Unspecified) => {
                Err(ValidationErrorKind::Unspecified("protocol").into())
            }
            Err(_) => Err(ValidationErrorKind::UnknownEnum {
                what: "protocol",
                value,
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        for p in [Protocol::Tcp, Protocol::Udp, Protocol::Sctp] {
            assert_eq!(p.as_str().parse::<Protocol>().expect("known"), p);
            assert_eq!(
                Protocol::try_from(pb::Protocol::from(p) as i32).expect("known"),
                p
            );
        }
    }

    #[test]
    fn rejects_unspecified_and_unknown() {
        assert_eq!(
            Protocol::try_from(0).expect_err("unspecified").to_string(),
            "protocol must be specified"
        );
        assert_eq!(
            Protocol::try_from(9).expect_err("unknown").to_string(),
            "unknown protocol value 9"
        );
        assert!("tcp".parse::<Protocol>().is_err());
    }
}
