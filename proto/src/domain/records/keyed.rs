use super::{Cluster, Endpoint, GlobalService, Identity, Node, Record};
use crate::{ClusterName, RecordKind, StoreKey};

/// Where a record lives in the store.
pub trait Keyed {
    fn kind(&self) -> RecordKind;

    /// The cluster whose prefix holds the record; a cluster record is its own.
    fn cluster(&self) -> &ClusterName;

    /// The part after `<cluster>/<kind>/`; also `Delete.key` on the wire.
    fn key_name(&self) -> String;

    fn store_key(&self) -> StoreKey {
        StoreKey::from_valid(self.cluster().clone(), self.kind(), self.key_name())
    }
}

/// `<cluster>/<kind>/<name>` of a record.
pub fn record_key(record: &impl Keyed) -> String {
    record.store_key().to_string()
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
