//! Two devices in two namespaces joined by a veth pair: a real handshake and a ping
//! through the tunnel. Device A is the agent's; device B is started by hand, as an
//! operator would, inside the second namespace.

use std::{process::Stdio, time::Duration};

use wireguard_control::{Backend, DeviceUpdate, Key};

use super::{KillOnDrop, interface, run, sh, wait_serving};
use crate::{
    exec::Tunnels,
    fixtures::name,
    netns_testing::{Netns, in_netns},
    plan::PeerSpec,
    wireguard::{BackendChoice, DeviceConfig, NodeKeys, WgDevice, WireGuardTunnels},
};

#[test]
fn handshakes_and_carries_traffic() {
    in_netns(
        "wireguard::tests::handshake::handshakes_and_carries_traffic",
        |_| {},
        || run(body()),
    );
}

fn peer(endpoint: &str, cidr: &str) -> PeerSpec {
    PeerSpec {
        endpoint: Some(endpoint.parse().expect("endpoint")),
        allowed_ips: vec![cidr.parse().expect("cidr")],
        keepalive: None,
        cluster: name("remote"),
        node: "n".into(),
    }
}

async fn body() {
    // Created from inside namespace A, so only this process's mount namespace sees it.
    let b = Netns::new("wgb");
    let (if_a, if_b) = (interface("a"), interface("b"));
    let (veth_a, veth_b) = (interface("va"), interface("vb"));
    sh(&[
        "ip", "link", "add", &veth_a, "type", "veth", "peer", "name", &veth_b, "netns", &b.name,
    ]);
    sh(&["ip", "addr", "add", "192.168.77.1/24", "dev", &veth_a]);
    sh(&["ip", "link", "set", &veth_a, "up"]);
    b.exec(&["ip", "addr", "add", "192.168.77.2/24", "dev", &veth_b]);
    b.exec(&["ip", "link", "set", &veth_b, "up"]);

    let dir = tempfile::tempdir().expect("tempdir");
    let keys_a = NodeKeys::load_or_generate(&dir.path().join("a")).expect("keys a");
    let mut config = DeviceConfig::new(&if_a, 51820);
    config.backend = BackendChoice::Userspace;
    let device_a = WgDevice::start(&config, &keys_a).await.expect("start a");
    let _guard_a = KillOnDrop {
        pid: device_a.process().expect("process").pid,
        interface: if_a.clone(),
        child: None,
    };

    // B: wireguard-go in namespace B (`ip netns exec` execs it, so the PID is its own);
    // its UAPI socket is global, so it is configured from here.
    let child_b = std::process::Command::new("ip")
        .args(["netns", "exec", &b.name, "wireguard-go", "-f", &if_b])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wireguard-go in b");
    let pid_b = child_b.id();
    let _guard_b = KillOnDrop {
        pid: pid_b,
        interface: if_b.clone(),
        child: Some(child_b),
    };
    assert_eq!(wait_serving(&if_b).await, pid_b);
    let private_b = Key::generate_private();
    let public_b = clustermesh_proto::WireGuardKey::new(private_b.get_public().0);
    let if_b_name = if_b.parse().expect("interface name");
    DeviceUpdate::new()
        .set_private_key(private_b)
        .set_listen_port(51821)
        .apply(&if_b_name, Backend::Userspace)
        .expect("configure b");
    b.exec(&["ip", "addr", "add", "10.99.0.2/32", "dev", &if_b]);
    b.exec(&["ip", "link", "set", &if_b, "up"]);
    b.exec(&["ip", "route", "add", "10.99.0.1/32", "dev", &if_b]);
    sh(&["ip", "addr", "add", "10.99.0.1/32", "dev", &if_a]);
    sh(&["ip", "route", "add", "10.99.0.2/32", "dev", &if_a]);

    let tunnels_a = device_a.tunnels();
    let tunnels_b = WireGuardTunnels::new(if_b_name, Backend::Userspace);
    tunnels_a
        .set_peer(&public_b, &peer("192.168.77.2:51821", "10.99.0.2/32"))
        .await
        .expect("a -> b");
    tunnels_b
        .set_peer(
            &keys_a.public(),
            &peer("192.168.77.1:51820", "10.99.0.1/32"),
        )
        .await
        .expect("b -> a");

    // A round trip through the tunnel without any tool: a TCP connect to a closed port
    // of B is refused by B's RST, which can only come back through the tunnel (without
    // it the connect times out). The first SYN also triggers the handshake.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect("10.99.0.2:9"),
        )
        .await;
        if let Ok(Err(e)) = &attempt
            && e.kind() == std::io::ErrorKind::ConnectionRefused
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no round trip through the tunnel: {attempt:?}"
        );
    }
    let ages = tunnels_a.handshake_ages().await.expect("handshakes");
    let age = ages[&public_b].expect("a handshake happened");
    assert!(age < Duration::from_secs(30), "{age:?}");

    device_a
        .cleanup(Duration::from_secs(5))
        .await
        .expect("cleanup a");
    // B's link is in namespace B, out of reach from here: cleanup falls back to SIGTERM
    // for the PID serving B's socket.
    crate::wireguard::cleanup(&if_b, Duration::from_secs(1))
        .await
        .expect("cleanup b");
    assert!(!super::uapi::process_alive(pid_b));
    drop(b);
}
