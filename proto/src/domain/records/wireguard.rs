use std::{net::SocketAddr, num::NonZeroU16};

use crate::{
    ValidationError, WireGuardKey,
    domain::{ip::parse_optional_socket_addr, port::parse_port},
    error::ResultExt,
    pb,
};

/// What peers need to reach a node's WireGuard device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireGuardPeerInfo {
    pub public_key: WireGuardKey,
    pub listen_port: NonZeroU16,
    /// `None`: the node's first underlay address and `listen_port`.
    pub endpoint: Option<SocketAddr>,
}

impl TryFrom<pb::WireGuard> for WireGuardPeerInfo {
    type Error = ValidationError;

    fn try_from(msg: pb::WireGuard) -> Result<Self, Self::Error> {
        Ok(Self {
            public_key: WireGuardKey::from_slice(&msg.public_key).at("public_key")?,
            listen_port: parse_port(msg.listen_port).at("listen_port")?,
            endpoint: parse_optional_socket_addr(&msg.endpoint).at("endpoint")?,
        })
    }
}

impl From<WireGuardPeerInfo> for pb::WireGuard {
    fn from(w: WireGuardPeerInfo) -> Self {
        Self {
            public_key: w.public_key.as_bytes().to_vec(),
            listen_port: w.listen_port.get().into(),
            endpoint: w.endpoint.map(|e| e.to_string()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::fixtures;

    #[test]
    fn roundtrip_with_and_without_endpoint() {
        let mut msg = fixtures::wireguard();
        for _ in 0..2 {
            let domain = WireGuardPeerInfo::try_from(msg.clone()).expect("valid");
            assert_eq!(pb::WireGuard::from(domain), msg);
            msg.endpoint.clear();
        }
    }

    #[test]
    fn rejections() {
        fixtures::assert_rejects::<_, WireGuardPeerInfo>(
            fixtures::wireguard,
            &[
                (
                    |w| w.public_key.truncate(31),
                    "public_key: WireGuard public key must be 32 bytes, got 31",
                ),
                (
                    |w| w.public_key.clear(),
                    "public_key: WireGuard public key must be 32 bytes, got 0",
                ),
                (|w| w.listen_port = 0, "listen_port: port 0 out of range"),
                (
                    |w| w.listen_port = 65536,
                    "listen_port: port 65536 out of range",
                ),
                (
                    |w| w.endpoint = "10.0.0.1".into(),
                    "endpoint: invalid socket address \"10.0.0.1\"",
                ),
            ],
        );
    }
}
