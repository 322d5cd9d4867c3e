//! What lives where in the store, and how values are encoded. Every component above the
//! store (exporter, importer, APIs) goes through here, so the key families cannot drift.
//!
//! Under `<cluster>/`:
//! - `<kind>/<name>`: a record, value `pb::Record`;
//! - `synced/<kind>`: a synced marker, value `pb::SyncedMarker`;
//! - `peer-state`: the importer's view of a peer (only under peers' prefixes), value
//!   `pb::PeerState`;
//! - `registrations/<node>`: what a node's agent registered, value `pb::WireGuard`,
//!   attached to the agent's lease;
//! - `identity-alloc/…`: the identity allocator's bookkeeping.
//!
//! Outside every cluster, `~meta/epoch` names the store's history (see
//! [`crate::feed`]). Registrations, allocator bookkeeping and `~meta/` are internal:
//! never sent to agents or peers.

use bytes::Bytes;
use clustermesh_proto::{
    AnyKey, ClusterName, KeyError, Keyed, PeerState, Record, RecordKind, StoreKey, SyncedKey,
    SyncedMarker, ValidationError, WireGuardPeerInfo, pb,
};
use prost::Message;

const PEER_STATE: &str = "peer-state";
const REGISTRATIONS: &str = "registrations";
const IDENTITY_ALLOC: &str = "identity-alloc";
/// The second segment of synced markers' keys (`clustermesh_proto::synced_prefix`).
const SYNCED: &str = "synced";
/// No cluster name starts with `~`, so this can never collide with a cluster's prefix.
pub const META_PREFIX: &str = "~meta/";
pub const EPOCH_KEY: &str = "~meta/epoch";

/// The family a store key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClass {
    Record(StoreKey),
    Synced(SyncedKey),
    PeerState(ClusterName),
    /// Registrations and allocator bookkeeping.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("store value at {key:?} is not a valid {what}: {reason}")]
    Decode {
        key: String,
        what: &'static str,
        reason: String,
    },
    #[error("store value at {key:?} is a record that belongs at {actual:?}")]
    Misplaced { key: String, actual: String },
}

/// Sorts `key` into its family; an unknown shape is an error naming the key.
pub fn classify(key: &str) -> Result<KeyClass, LayoutError> {
    if key.starts_with(META_PREFIX) {
        return Ok(KeyClass::Internal);
    }
    let mut segments = key.splitn(3, '/');
    let cluster = segments.next().unwrap_or_default();
    match (segments.next(), segments.next()) {
        (Some(PEER_STATE), None) => Ok(KeyClass::PeerState(ClusterName::new(cluster).map_err(
            |error| KeyError::Segment {
                key: key.to_owned(),
                error,
            },
        )?)),
        (Some(REGISTRATIONS | IDENTITY_ALLOC), Some(_)) => Ok(KeyClass::Internal),
        _ => Ok(match AnyKey::parse(key)? {
            AnyKey::Record(k) => KeyClass::Record(k),
            AnyKey::Synced(k) => KeyClass::Synced(k),
        }),
    }
}

/// A key's family told from its shape alone, for keys this module wrote: the feeds
/// sort every key they send, and [`classify`] validates every segment, which costs
/// more than the rest of a record's trip through a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Record,
    Synced,
    PeerState,
    Internal,
    Unknown,
}

pub fn family(key: &str) -> Family {
    if key.starts_with(META_PREFIX) {
        return Family::Internal;
    }
    let mut segments = key.splitn(3, '/');
    let cluster = segments.next().unwrap_or_default();
    match (segments.next(), segments.next()) {
        _ if cluster.is_empty() => Family::Unknown,
        (Some(PEER_STATE), None) => Family::PeerState,
        (Some(REGISTRATIONS | IDENTITY_ALLOC), Some(_)) => Family::Internal,
        (Some(SYNCED), Some(kind)) if kind.parse::<RecordKind>().is_ok() => Family::Synced,
        (Some(kind), Some(name))
            if !name.is_empty() && RecordKind::ALL.iter().any(|k| k.as_str() == kind) =>
        {
            Family::Record
        }
        _ => Family::Unknown,
    }
}

pub fn peer_state_key(peer: &ClusterName) -> String {
    format!("{peer}/{PEER_STATE}")
}

pub fn registrations_prefix(cluster: &ClusterName) -> String {
    format!("{cluster}/{REGISTRATIONS}/")
}

pub fn registration_key(cluster: &ClusterName, node: &str) -> String {
    format!("{cluster}/{REGISTRATIONS}/{node}")
}

pub fn encode_record(record: &Record) -> Bytes {
    record.encode()
}

/// Decodes a record and checks it sits at its own key, so a value copied to the wrong
/// place cannot masquerade as another cluster's record.
pub fn decode_record(key: &str, value: &[u8]) -> Result<Record, LayoutError> {
    let record = Record::decode(value).map_err(|e| LayoutError::Decode {
        key: key.to_owned(),
        what: "record",
        reason: e.to_string(),
    })?;
    let actual = record.store_key().to_string();
    match actual == key {
        true => Ok(record),
        false => Err(LayoutError::Misplaced {
            key: key.to_owned(),
            actual,
        }),
    }
}

pub fn encode_synced(marker: &SyncedMarker) -> Bytes {
    Bytes::from(pb::SyncedMarker::from(marker.clone()).encode_to_vec())
}

pub fn decode_synced(key: &str, value: &[u8]) -> Result<SyncedMarker, LayoutError> {
    decode::<pb::SyncedMarker, SyncedMarker>(key, value, "synced marker")
}

pub fn encode_peer_state(state: &PeerState) -> Bytes {
    Bytes::from(pb::PeerState::from(state.clone()).encode_to_vec())
}

pub fn decode_peer_state(key: &str, value: &[u8]) -> Result<PeerState, LayoutError> {
    decode::<pb::PeerState, PeerState>(key, value, "peer state")
}

pub fn encode_registration(info: &WireGuardPeerInfo) -> Bytes {
    Bytes::from(pb::WireGuard::from(info.clone()).encode_to_vec())
}

pub fn decode_registration(key: &str, value: &[u8]) -> Result<WireGuardPeerInfo, LayoutError> {
    decode::<pb::WireGuard, WireGuardPeerInfo>(key, value, "node registration")
}

fn decode<M, T>(key: &str, value: &[u8], what: &'static str) -> Result<T, LayoutError>
where
    M: Message + Default,
    T: TryFrom<M, Error = ValidationError>,
{
    let error = |reason: String| LayoutError::Decode {
        key: key.to_owned(),
        what,
        reason,
    };
    let msg = M::decode(value).map_err(|e| error(e.to_string()))?;
    T::try_from(msg).map_err(|e| error(e.to_string()))
}

#[cfg(test)]
mod tests;
