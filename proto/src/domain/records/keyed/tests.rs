use super::*;
use crate::{AnyKey, pb, records::fixtures};

fn records() -> Vec<Record> {
    vec![
        Record::Cluster(fixtures::cluster().try_into().expect("valid")),
        Record::Node(fixtures::node().try_into().expect("valid")),
        Record::Identity(fixtures::identity().try_into().expect("valid")),
        Record::Endpoint(fixtures::endpoint().try_into().expect("valid")),
        Record::GlobalService(fixtures::global_service().try_into().expect("valid")),
    ]
}

#[test]
fn keys_follow_the_layout() {
    let keys: Vec<_> = records().iter().map(record_key).collect();
    assert_eq!(
        keys,
        [
            "c1/clusters/c1",
            "c1/nodes/n1",
            "c1/identities/65537",
            "c1/endpoints/10.1.0.7",
            "c1/services/shop/web",
        ]
    );
}

#[test]
fn keys_parse_back_to_themselves() {
    for record in records() {
        let key = record.store_key();
        assert_eq!(StoreKey::parse(&key.to_string()).expect("valid key"), key);
        assert_eq!(
            AnyKey::parse(&key.to_string()).expect("valid key"),
            AnyKey::Record(key.clone())
        );
        assert_eq!(key.kind(), record.kind());
        assert_eq!(key.name(), record.key_name());
        assert_eq!(record_key(&record), key.to_string(), "written as displayed");
    }
}

#[test]
fn endpoint_key_is_the_endpoint_records_key() {
    for ip in ["10.1.0.7", "fd00:1::7"] {
        let endpoint = Endpoint::try_from(pb::Endpoint {
            ip: ip.into(),
            ..fixtures::endpoint()
        })
        .expect("valid");
        assert_eq!(
            endpoint_key(&endpoint.cluster, endpoint.ip),
            record_key(&endpoint)
        );
    }
}

#[test]
fn ipv6_endpoint_key_is_canonical() {
    let msg = pb::Endpoint {
        ip: "FD00:1:0:0::7".into(),
        ..fixtures::endpoint()
    };
    let endpoint = Endpoint::try_from(msg).expect("valid");
    assert_eq!(record_key(&endpoint), "c1/endpoints/fd00:1::7");
}
