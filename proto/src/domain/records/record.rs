use bytes::Bytes;
use prost::Message as _;

use super::{Cluster, Endpoint, GlobalService, Identity, Node};
use crate::{
    ValidationError,
    error::{ResultExt, ValidationErrorKind},
    pb,
};

/// Any replicated record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Cluster(Cluster),
    Node(Node),
    Identity(Identity),
    Endpoint(Endpoint),
    GlobalService(GlobalService),
}

impl Record {
    /// The protobuf encoding: how a record is stored, and how `Upsert` carries it.
    pub fn encode(&self) -> Bytes {
        Bytes::from(pb::Record::from(self.clone()).encode_to_vec())
    }

    /// Decodes and validates an encoded record (`Upsert.record`, a store value).
    pub fn decode(bytes: &[u8]) -> Result<Self, ValidationError> {
        let msg = pb::Record::decode(bytes)
            .map_err(|e| ValidationErrorKind::Encoding {
                what: "record",
                reason: e.to_string(),
            })
            .at("record")?;
        Self::try_from(msg.record.is_some().then_some(msg))
    }
}

impl TryFrom<pb::Record> for Record {
    type Error = ValidationError;

    fn try_from(msg: pb::Record) -> Result<Self, Self::Error> {
        use pb::record::Record as R;
        match msg.record {
            None => Err(ValidationErrorKind::Missing("record").into()),
            Some(R::Cluster(c)) => Cluster::try_from(c).map(Self::Cluster),
            Some(R::Node(n)) => Node::try_from(n).map(Self::Node),
            Some(R::Identity(i)) => Identity::try_from(i).map(Self::Identity),
            Some(R::Endpoint(e)) => Endpoint::try_from(e).map(Self::Endpoint),
            Some(R::GlobalService(s)) => GlobalService::try_from(s).map(Self::GlobalService),
        }
    }
}

impl From<Record> for pb::Record {
    fn from(record: Record) -> Self {
        use pb::record::Record as R;
        let record = match record {
            Record::Cluster(c) => R::Cluster(c.into()),
            Record::Node(n) => R::Node(n.into()),
            Record::Identity(i) => R::Identity(i.into()),
            Record::Endpoint(e) => R::Endpoint(e.into()),
            Record::GlobalService(s) => R::GlobalService(s.into()),
        };
        Self {
            record: Some(record),
        }
    }
}

/// `Upsert.record` is a message field and so optional on the wire; this reads it.
impl TryFrom<Option<pb::Record>> for Record {
    type Error = ValidationError;

    fn try_from(msg: Option<pb::Record>) -> Result<Self, Self::Error> {
        msg.ok_or(ValidationErrorKind::Missing("record"))
            .at("record")?
            .try_into()
    }
}

macro_rules! from_variant {
    ($($variant:ident),*) => {$(
        impl From<$variant> for Record {
            fn from(r: $variant) -> Self {
                Self::$variant(r)
            }
        }
    )*};
}

from_variant!(Cluster, Node, Identity, Endpoint, GlobalService);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::fixtures;

    fn all() -> Vec<pb::Record> {
        use pb::record::Record as R;
        [
            R::Cluster(fixtures::cluster()),
            R::Node(fixtures::node()),
            R::Identity(fixtures::identity()),
            R::Endpoint(fixtures::endpoint()),
            R::GlobalService(fixtures::global_service()),
        ]
        .into_iter()
        .map(|r| pb::Record { record: Some(r) })
        .collect()
    }

    #[test]
    fn every_kind_roundtrips() {
        for msg in all() {
            let domain = Record::try_from(msg.clone()).expect("valid");
            assert_eq!(pb::Record::from(domain.clone()), msg);
            assert_eq!(
                Record::try_from(pb::Record::from(domain.clone())).expect("valid"),
                domain
            );
        }
    }

    #[test]
    fn every_kind_decodes_from_its_encoding() {
        for msg in all() {
            let domain = Record::try_from(msg.clone()).expect("valid");
            assert_eq!(Record::decode(&domain.encode()).expect("decodes"), domain);
            assert_eq!(&domain.encode()[..], msg.encode_to_vec());
        }
        let err = Record::decode(&[0xff, 0xff]).expect_err("not protobuf");
        assert!(
            err.to_string()
                .starts_with("record: not an encoded record: "),
            "{err}"
        );
        let err = Record::decode(&[]).expect_err("empty");
        assert_eq!(err.to_string(), "record: missing record");
    }

    #[test]
    fn rejects_empty_oneof_and_missing_record() {
        let err = Record::try_from(pb::Record::default()).expect_err("empty");
        assert_eq!(err.to_string(), "missing record");
        let err = Record::try_from(None::<pb::Record>).expect_err("missing");
        assert_eq!(err.to_string(), "record: missing record");
    }

    #[test]
    fn passes_through_inner_errors() {
        let mut node = fixtures::node();
        node.pod_cidrs[0] = "10.1.1.1/24".into();
        let msg = pb::Record {
            record: Some(pb::record::Record::Node(node)),
        };
        let err = Record::try_from(msg).expect_err("host bits");
        assert!(
            err.to_string().starts_with("node \"n1\": pod_cidrs[0]: "),
            "{err}"
        );
    }
}
