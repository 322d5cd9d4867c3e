use std::{fmt, net::IpAddr, num::NonZeroU16, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrorKind, shown};

use super::DnsSubdomain;

/// `host:port` where `host` is a DNS name or an IP address, IPv6 in brackets. Used for
/// addresses that may be names, such as where a cluster's apiserver serves peers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPort {
    /// Without brackets.
    host: String,
    port: NonZeroU16,
}

impl HostPort {
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> NonZeroU16 {
        self.port
    }

    /// The host as an IP address, when it is one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl FromStr for HostPort {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| ValidationErrorKind::HostPort {
            value: shown(s),
            reason,
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| invalid("expected [ipv6]:port"))?;
            if !matches!(host.parse(), Ok(IpAddr::V6(_))) {
                return Err(invalid("brackets must hold an IPv6 address").into());
            }
            (host, port)
        } else {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| invalid("expected host:port"))?;
            if host.contains(':') {
                return Err(
                    invalid("an IPv6 address must be in brackets, like [fd00::1]:443").into(),
                );
            }
            if host.parse::<IpAddr>().is_err() && DnsSubdomain::new(host).is_err() {
                return Err(invalid("host must be an IP address or a lowercase DNS name").into());
            }
            (host, port)
        };
        let port = port
            .parse::<u16>()
            .ok()
            .and_then(NonZeroU16::new)
            .filter(|p| p.to_string() == port)
            .ok_or_else(|| invalid("port must be a number in 1..=65535"))?;
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl TryFrom<String> for HostPort {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<HostPort> for String {
    fn from(value: HostPort) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_and_ips() {
        for s in [
            "mesh.example.com:443",
            "10.0.0.1:2379",
            "[fd00::1]:443",
            "a:1",
        ] {
            let hp: HostPort = s.parse().expect(s);
            assert_eq!(hp.to_string(), s);
        }
        let hp: HostPort = "[fd00::1]:443".parse().expect("valid");
        assert_eq!(hp.host(), "fd00::1");
        assert_eq!(hp.port().get(), 443);
        assert_eq!(hp.ip(), "fd00::1".parse().ok());
    }

    #[test]
    fn rejects_bad_addresses() {
        let bad = [
            "",
            "host",
            ":443",
            "host:",
            "host:0",
            "host:65536",
            "host:+1",
            "host:01",
            "fd00::1:443",
            "[fd00::1]",
            "[10.0.0.1]:443",
            "Host:443",
            "a b:1",
            "[x]:1",
        ];
        for s in bad {
            let err = s.parse::<HostPort>().expect_err(s);
            assert!(
                matches!(err.kind(), ValidationErrorKind::HostPort { .. }),
                "{s}: {err}"
            );
        }
    }
}
