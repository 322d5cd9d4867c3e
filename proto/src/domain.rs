//! Validated domain types. Nothing here knows about transport or storage engines; the
//! wire forms in [`crate::pb`] convert into these at the edge.

mod cidr;
mod cluster_id;
mod cluster_name;
mod dns_name;
mod host_port;
mod identity_id;
pub(crate) mod ip;
mod labels;
mod newtype;
mod peer_heartbeat;
mod port;
mod record_kind;
pub mod records;
pub mod selection;
mod store_key;
mod watch_event;
mod wireguard_key;

pub use self::{
    cidr::{Cidr, first_overlap, first_overlap_within},
    cluster_id::ClusterId,
    cluster_name::{CLUSTER_NAME_MAX_LEN, CLUSTER_NAME_PATTERN, ClusterName},
    dns_name::{DnsLabel, DnsSubdomain},
    host_port::HostPort,
    identity_id::IdentityId,
    labels::{validate_label_key, validate_label_value},
    peer_heartbeat::{
        HEARTBEATS_PER_PEER_TIMEOUT, PEER_HEARTBEAT_MAX, PEER_HEARTBEAT_MIN, PEER_TIMEOUT_MIN,
        peer_heartbeat_for_timeout, peer_heartbeat_granted,
    },
    record_kind::RecordKind,
    records::*,
    store_key::{
        AnyKey, KeyError, StoreKey, SyncedKey, cluster_prefix, kind_prefix, synced_prefix,
    },
    watch_event::WatchEvent,
    wireguard_key::WireGuardKey,
};
