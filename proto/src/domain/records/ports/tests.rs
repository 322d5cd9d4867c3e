use super::*;

fn port(name: &str, port: u32, protocol: pb::Protocol) -> pb::ServicePort {
    pb::ServicePort {
        name: name.into(),
        port,
        protocol: protocol.into(),
    }
}

#[test]
fn roundtrip() {
    for msg in [
        port("http", 80, pb::Protocol::Tcp),
        port("", 53, pb::Protocol::Udp),
    ] {
        let domain = ServicePort::try_from(msg.clone()).expect("valid");
        assert_eq!(pb::ServicePort::from(domain), msg);
    }
    let msg = pb::BackendPort {
        name: "dns".into(),
        port: 5353,
        protocol: pb::Protocol::Sctp.into(),
    };
    let domain = BackendPort::try_from(msg.clone()).expect("valid");
    assert_eq!(pb::BackendPort::from(domain), msg);
}

#[test]
fn single_field_rejections() {
    let cases = [
        (
            port("HTTP", 80, pb::Protocol::Tcp),
            "name: invalid DNS label \"HTTP\"",
        ),
        (
            port("http", 0, pb::Protocol::Tcp),
            "port: port 0 out of range 1..=65535",
        ),
        (
            port("http", 80, pb::Protocol::Unspecified),
            "protocol: protocol must be specified",
        ),
        (
            pb::ServicePort {
                protocol: 42,
                ..port("http", 80, pb::Protocol::Tcp)
            },
            "protocol: unknown protocol value 42",
        ),
    ];
    for (msg, want) in cases {
        let err = ServicePort::try_from(msg).expect_err(want).to_string();
        assert!(err.starts_with(want), "got {err:?}, want {want:?}");
    }
}

#[test]
fn list_rules() {
    let ok = vec![
        port("http", 80, pb::Protocol::Tcp),
        port("dns", 80, pb::Protocol::Udp),
    ];
    assert_eq!(parse_service_ports(ok).expect("valid").len(), 2);
    assert_eq!(
        parse_service_ports(vec![port("", 80, pb::Protocol::Tcp)])
            .expect("valid")
            .len(),
        1
    );
    assert!(
        parse_service_ports(Vec::new())
            .expect("headless may have none")
            .is_empty()
    );

    let cases = [
        (
            vec![
                port("a", 80, pb::Protocol::Tcp),
                port("", 81, pb::Protocol::Tcp),
            ],
            "ports[1]: every port must be named when there is more than one",
        ),
        (
            vec![
                port("a", 80, pb::Protocol::Tcp),
                port("a", 81, pb::Protocol::Tcp),
            ],
            "ports[1]: duplicate port name \"a\"",
        ),
        (
            vec![
                port("a", 80, pb::Protocol::Tcp),
                port("b", 80, pb::Protocol::Tcp),
            ],
            "ports[1]: duplicate port \"80/TCP\"",
        ),
        (
            vec![
                port("a", 80, pb::Protocol::Tcp),
                port("b", 70000, pb::Protocol::Tcp),
            ],
            "ports[1]: port: port 70000 out of range 1..=65535",
        ),
    ];
    for (ports, want) in cases {
        let err = parse_service_ports(ports).expect_err(want).to_string();
        assert_eq!(err, want);
    }
}
