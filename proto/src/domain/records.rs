//! The replicated records, validated. Each converts from its wire form with
//! `TryFrom<pb::…>` and back with `From`, and the round trip is the identity.

mod affinity;
mod backend;
mod cluster;
mod endpoint;
mod global_service;
mod identity;
mod keyed;
mod node;
mod peer_state;
mod ports;
mod protocol;
mod record;
mod synced_marker;
mod wireguard;

#[cfg(test)]
pub(crate) mod fixtures;

pub use self::{
    affinity::Affinity,
    backend::Backend,
    cluster::Cluster,
    endpoint::{Endpoint, EndpointParts},
    global_service::GlobalService,
    identity::Identity,
    keyed::{Keyed, endpoint_key, record_key},
    node::Node,
    peer_state::PeerState,
    ports::{BackendPort, ServicePort},
    protocol::Protocol,
    record::Record,
    synced_marker::SyncedMarker,
    wireguard::WireGuardPeerInfo,
};
