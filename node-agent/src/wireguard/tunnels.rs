//! [`Tunnels`] over `wireguard-control`: one peer per remote node.

use std::{
    collections::BTreeMap,
    io,
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use clustermesh_proto::{Cidr, ClusterName, WireGuardKey};
use ipnet::IpNet;
use tokio::task::spawn_blocking;
use wireguard_control::{Backend, Device, DeviceUpdate, InterfaceName, Key, PeerConfigBuilder};

use super::uapi;
use crate::{
    exec::{ExecError, Tunnels},
    plan::PeerSpec,
};

/// Cluster name of observed peers: WireGuard does not store it, and
/// [`PeerSpec::same_programming`] ignores it.
const UNKNOWN: &str = "unknown";

/// The peers of one WireGuard interface. Cheap to clone; every call talks to the
/// device afresh (netlink or UAPI socket), so it holds no state that could go stale.
#[derive(Debug, Clone)]
pub struct WireGuardTunnels {
    interface: InterfaceName,
    backend: Backend,
}

impl WireGuardTunnels {
    pub fn new(interface: InterfaceName, backend: Backend) -> Self {
        Self { interface, backend }
    }

    async fn device(&self, what: &str) -> Result<Device, ExecError> {
        let (interface, backend) = (self.interface, self.backend);
        let device = spawn_blocking(move || Device::get(&interface, backend))
            .await
            .map_err(io::Error::other)
            .and_then(|r| r);
        device.map_err(|e| self.error(what, e))
    }

    async fn apply(&self, what: &str, update: DeviceUpdate) -> Result<(), ExecError> {
        // wireguard-control's userspace `apply` starts a *daemonized* wireguard-go, with
        // no key, when the socket is dead; the device must come from `WgDevice::start`.
        if self.backend == Backend::Userspace && !uapi::accepts(&self.interface.to_string()).await {
            let gone = io::Error::new(io::ErrorKind::NotConnected, "the device process is gone");
            return Err(self.error(what, gone));
        }
        let (interface, backend) = (self.interface, self.backend);
        let result = spawn_blocking(move || update.apply(&interface, backend))
            .await
            .map_err(io::Error::other)
            .and_then(|r| r);
        result.map_err(|e| self.error(what, e))
    }

    fn error(&self, what: &str, e: io::Error) -> ExecError {
        ExecError::new(format!("WireGuard {}: {what}", self.interface), e)
    }
}

#[async_trait]
impl Tunnels for WireGuardTunnels {
    async fn observe(&self) -> Result<BTreeMap<WireGuardKey, PeerSpec>, ExecError> {
        let device = self.device("reading peers").await?;
        let cluster = ClusterName::new(UNKNOWN)
            .map_err(|e| self.error("placeholder", io::Error::other(e)))?;
        let mut peers = BTreeMap::new();
        for peer in device.peers {
            let config = peer.config;
            let mut allowed_ips = config
                .allowed_ips
                .iter()
                .map(|ip| {
                    let net = IpNet::new(ip.address, ip.cidr).map_err(io::Error::other)?;
                    // The device keeps prefixes canonical; trunc() guards the conversion.
                    Cidr::new(net.trunc()).map_err(io::Error::other)
                })
                .collect::<Result<Vec<_>, io::Error>>()
                .map_err(|e| self.error("reading allowed IPs", e))?;
            allowed_ips.sort();
            let spec = PeerSpec {
                endpoint: config.endpoint,
                allowed_ips,
                keepalive: config
                    .persistent_keepalive_interval
                    .filter(|&s| s > 0)
                    .map(|s| Duration::from_secs(s.into())),
                cluster: cluster.clone(),
                node: UNKNOWN.to_owned(),
            };
            peers.insert(WireGuardKey::new(config.public_key.0), spec);
        }
        Ok(peers)
    }

    /// Adds or updates the peer; its allowed IPs are replaced, not merged.
    async fn set_peer(&self, key: &WireGuardKey, peer: &PeerSpec) -> Result<(), ExecError> {
        let mut builder = PeerConfigBuilder::new(&Key(*key.as_bytes())).replace_allowed_ips();
        for cidr in &peer.allowed_ips {
            builder = builder.add_allowed_ip(cidr.net().addr(), cidr.net().prefix_len());
        }
        // WireGuard cannot forget an endpoint: `None` leaves a learned one in place.
        if let Some(endpoint) = peer.endpoint {
            builder = builder.set_endpoint(endpoint);
        }
        builder = match peer.keepalive {
            // The protocol field is 16 bits of seconds; at least 1, as 0 means off.
            Some(d) => builder.set_persistent_keepalive_interval(
                u16::try_from(d.as_secs()).unwrap_or(u16::MAX).max(1),
            ),
            None => builder.unset_persistent_keepalive(),
        };
        self.apply(
            &format!("setting peer {key}"),
            DeviceUpdate::new().add_peer(builder),
        )
        .await
    }

    async fn remove_peer(&self, key: &WireGuardKey) -> Result<(), ExecError> {
        let update = DeviceUpdate::new().remove_peer_by_key(&Key(*key.as_bytes()));
        self.apply(&format!("removing peer {key}"), update).await
    }

    async fn handshake_ages(&self) -> Result<BTreeMap<WireGuardKey, Option<Duration>>, ExecError> {
        let device = self.device("reading handshakes").await?;
        let now = SystemTime::now();
        Ok(device
            .peers
            .iter()
            .map(|p| {
                let age = p
                    .stats
                    .last_handshake_time
                    // A clock step backwards would make it "in the future": call that 0.
                    .map(|t| now.duration_since(t).unwrap_or_default());
                (WireGuardKey::new(p.config.public_key.0), age)
            })
            .collect())
    }
}
