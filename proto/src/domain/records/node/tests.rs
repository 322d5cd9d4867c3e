use super::*;
use crate::domain::records::fixtures;

#[test]
fn roundtrip() {
    let domain = Node::try_from(fixtures::node()).expect("valid");
    assert_eq!(pb::Node::from(domain.clone()), fixtures::node());
    assert_eq!(
        Node::try_from(pb::Node::from(domain.clone())).expect("valid"),
        domain
    );
}

#[test]
fn roundtrip_before_registration() {
    let msg = pb::Node {
        wireguard: None,
        zone: String::new(),
        ..fixtures::node()
    };
    let domain = Node::try_from(msg.clone()).expect("valid");
    assert_eq!(
        (domain.wireguard.as_ref(), domain.zone.as_ref()),
        (None, None)
    );
    assert_eq!(pb::Node::from(domain), msg);
}

#[test]
fn rejections() {
    fixtures::assert_rejects::<_, Node>(
        fixtures::node,
        &[
            (
                |n| n.cluster = "default".into(),
                "node: cluster: invalid cluster name \"default\"",
            ),
            (
                |n| n.name = "N1".into(),
                "node: name: invalid DNS subdomain \"N1\"",
            ),
            (
                |n| n.underlay_addresses.push("10.0.0.300".into()),
                "node \"n1\": underlay_addresses[2]: invalid IP address \"10.0.0.300\"",
            ),
            (
                |n| n.pod_cidrs[1] = "10.1.0.5/16".into(),
                "node \"n1\": pod_cidrs[1]: CIDR \"10.1.0.5/16\" has host bits set (did you mean 10.1.0.0/16?)",
            ),
            (
                |n| n.zone = "a zone".into(),
                "node \"n1\": zone: invalid zone \"a zone\"",
            ),
            (
                |n| {
                    n.wireguard
                        .iter_mut()
                        .for_each(|w| w.public_key.truncate(16))
                },
                "node \"n1\": wireguard: public_key: WireGuard public key must be 32 bytes, got 16",
            ),
            (
                |n| n.wireguard.iter_mut().for_each(|w| w.listen_port = 0),
                "node \"n1\": wireguard: listen_port: port 0 out of range 1..=65535",
            ),
        ],
    );
}
