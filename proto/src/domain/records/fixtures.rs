//! Valid wire records that tests mutate one field at a time.

use std::collections::BTreeMap;

use crate::pb;

pub(crate) fn cluster() -> pb::Cluster {
    pb::Cluster {
        name: "c1".into(),
        id: 1,
        pod_cidrs: vec!["10.1.0.0/16".into(), "fd00:1::/48".into()],
        advertise_address: "mesh.c1.example:443".into(),
    }
}

pub(crate) fn wireguard() -> pb::WireGuard {
    pb::WireGuard {
        public_key: vec![7; 32],
        listen_port: 51820,
        endpoint: "192.0.2.10:51820".into(),
    }
}

pub(crate) fn node() -> pb::Node {
    pb::Node {
        cluster: "c1".into(),
        name: "n1".into(),
        underlay_addresses: vec!["192.0.2.10".into(), "2001:db8::10".into()],
        pod_cidrs: vec!["10.1.1.0/24".into(), "fd00:1:0:1::/64".into()],
        zone: "eu-west-1a".into(),
        wireguard: Some(wireguard()),
    }
}

pub(crate) fn identity() -> pb::Identity {
    pb::Identity {
        cluster: "c1".into(),
        id: 1 << 16 | 1,
        namespace: "shop".into(),
        labels: BTreeMap::from([
            ("app".into(), "web".into()),
            ("app.kubernetes.io/part-of".into(), "shop".into()),
        ]),
    }
}

pub(crate) fn endpoint() -> pb::Endpoint {
    pb::Endpoint {
        cluster: "c1".into(),
        ip: "10.1.0.7".into(),
        identity: 1 << 16 | 1,
        node: "n1".into(),
        namespace: "shop".into(),
        pod: "web-1".into(),
    }
}

pub(crate) fn backend() -> pb::Backend {
    pb::Backend {
        ip: "10.1.0.7".into(),
        ports: vec![pb::BackendPort {
            name: "http".into(),
            port: 8080,
            protocol: pb::Protocol::Tcp.into(),
        }],
        node: "n1".into(),
        zone: "eu-west-1a".into(),
        ready: true,
        serving: true,
        terminating: false,
    }
}

pub(crate) fn global_service() -> pb::GlobalService {
    let port = |name: &str, port| pb::ServicePort {
        name: name.into(),
        port,
        protocol: pb::Protocol::Tcp.into(),
    };
    pb::GlobalService {
        cluster: "c1".into(),
        namespace: "shop".into(),
        name: "web".into(),
        ports: vec![port("http", 80), port("https", 443)],
        vip: "10.96.0.10".into(),
        affinity: pb::Affinity::Local.into(),
        shared: true,
        backends: vec![
            backend(),
            pb::Backend {
                ip: "10.1.0.8".into(),
                ready: false,
                serving: true,
                terminating: true,
                ..backend()
            },
        ],
    }
}

/// A mutation of a valid message, and how the error it causes must start.
pub(crate) type Case<M> = (fn(&mut M), &'static str);

/// Applies each case to a fresh valid message and checks that conversion refuses it.
pub(crate) fn assert_rejects<M, D>(valid: fn() -> M, cases: &[Case<M>])
where
    D: TryFrom<M, Error = crate::ValidationError> + std::fmt::Debug,
{
    for (mutate, want) in cases {
        let mut msg = valid();
        mutate(&mut msg);
        let err = D::try_from(msg).expect_err(want).to_string();
        assert!(err.starts_with(want), "got {err:?}, want {want:?}");
    }
}
