use std::net::IpAddr;

use super::{Cluster, Endpoint, GlobalService, Identity, Node, Record};
use crate::domain::ip::push_ip;
use crate::{ClusterName, RecordKind, StoreKey};

/// Where a record lives in the store.
pub trait Keyed {
    fn kind(&self) -> RecordKind;

    /// The cluster whose prefix holds the record; a cluster record is its own.
    fn cluster(&self) -> &ClusterName;

    /// The part after `<cluster>/<kind>/`; also `Delete.key` on the wire.
    fn key_name(&self) -> String;

    /// Appends [`Self::key_name`] to `out`; endpoints, a million to a cluster, write
    /// theirs without formatting machinery.
    fn push_key_name(&self, out: &mut String) {
        out.push_str(&self.key_name());
    }

    fn store_key(&self) -> StoreKey {
        StoreKey::from_valid(self.cluster().clone(), self.kind(), self.key_name())
    }
}

/// `<cluster>/<kind>/<name>` of a record, as [`StoreKey`] displays it.
pub fn record_key(record: &(impl Keyed + ?Sized)) -> String {
    let mut key = key_prefix(record.cluster(), record.kind(), 16);
    record.push_key_name(&mut key);
    key
}

/// `<cluster>/endpoints/<ip>`: the key of the endpoint at `ip`.
pub fn endpoint_key(cluster: &ClusterName, ip: IpAddr) -> String {
    let mut key = key_prefix(cluster, RecordKind::Endpoint, 39);
    push_ip(&mut key, ip);
    key
}

fn key_prefix(cluster: &ClusterName, kind: RecordKind, name_room: usize) -> String {
    let (cluster, kind) = (cluster.as_str(), kind.as_str());
    let mut key = String::with_capacity(cluster.len() + kind.len() + 2 + name_room);
    key.push_str(cluster);
    key.push('/');
    key.push_str(kind);
    key.push('/');
    key
}

impl Keyed for Cluster {
    fn kind(&self) -> RecordKind {
        RecordKind::Cluster
    }

    fn cluster(&self) -> &ClusterName {
        &self.name
    }

    fn key_name(&self) -> String {
        self.name.to_string()
    }
}

impl Keyed for Node {
    fn kind(&self) -> RecordKind {
        RecordKind::Node
    }

    fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    fn key_name(&self) -> String {
        self.name.to_string()
    }
}

impl Keyed for Identity {
    fn kind(&self) -> RecordKind {
        RecordKind::Identity
    }

    fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    fn key_name(&self) -> String {
        self.id.to_string()
    }
}

impl Keyed for Endpoint {
    fn kind(&self) -> RecordKind {
        RecordKind::Endpoint
    }

    fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    fn key_name(&self) -> String {
        self.ip.to_string()
    }

    fn push_key_name(&self, out: &mut String) {
        push_ip(out, self.ip);
    }
}

impl Keyed for GlobalService {
    fn kind(&self) -> RecordKind {
        RecordKind::GlobalService
    }

    fn cluster(&self) -> &ClusterName {
        &self.cluster
    }

    fn key_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

impl Keyed for Record {
    fn kind(&self) -> RecordKind {
        self.as_keyed().kind()
    }

    fn cluster(&self) -> &ClusterName {
        self.as_keyed().cluster()
    }

    fn key_name(&self) -> String {
        self.as_keyed().key_name()
    }

    fn push_key_name(&self, out: &mut String) {
        self.as_keyed().push_key_name(out);
    }
}

impl Record {
    fn as_keyed(&self) -> &dyn Keyed {
        match self {
            Record::Cluster(r) => r,
            Record::Node(r) => r,
            Record::Identity(r) => r,
            Record::Endpoint(r) => r,
            Record::GlobalService(r) => r,
        }
    }
}

#[cfg(test)]
mod tests;
