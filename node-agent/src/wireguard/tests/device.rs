//! One userspace device: peers programmed and read back, adoption by a second start,
//! cleanup; and the kernel backend's clear failure where the kernel lacks WireGuard.

use std::{path::Path, time::Duration};

use clustermesh_proto::{Cidr, WireGuardKey};
use wireguard_control::Key;

use super::{KillOnDrop, interface, run, sh};
use crate::{
    exec::Tunnels,
    fixtures::name,
    netns_testing::in_netns,
    plan::PeerSpec,
    wireguard::{BackendChoice, DeviceConfig, NodeKeys, WgDevice, WireGuardError, uapi},
};

fn peer_key() -> WireGuardKey {
    WireGuardKey::new(Key::generate_private().get_public().0)
}

fn spec(endpoint: Option<&str>, cidrs: &[&str], keepalive: Option<u64>) -> PeerSpec {
    PeerSpec {
        endpoint: endpoint.map(|e| e.parse().expect("endpoint")),
        allowed_ips: cidrs
            .iter()
            .map(|c| c.parse::<Cidr>().expect("cidr"))
            .collect(),
        keepalive: keepalive.map(Duration::from_secs),
        cluster: name("remote"),
        node: "n1".into(),
    }
}

fn config(iface: &str, dir: &Path) -> DeviceConfig {
    let mut config = DeviceConfig::new(iface, 51820);
    config.backend = BackendChoice::Userspace;
    config.log_file = Some(dir.join("wireguard-go.log"));
    config
}

#[test]
fn programs_peers_is_adopted_and_cleans_up() {
    in_netns(
        "wireguard::tests::device::programs_peers_is_adopted_and_cleans_up",
        |_| {},
        || run(programs_peers_is_adopted_and_cleans_up_body()),
    );
}

async fn programs_peers_is_adopted_and_cleans_up_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = NodeKeys::load_or_generate(dir.path()).expect("keys");
    let iface = interface("a");
    let config = config(&iface, dir.path());

    let device = WgDevice::start(&config, &keys).await.expect("start");
    let process = device.process().expect("userspace device has a process");
    let _guard = KillOnDrop {
        pid: process.pid,
        interface: iface.clone(),
        child: None,
    };
    assert!(!process.adopted);
    assert!(uapi::socket_path(&iface).exists());
    assert!(sh(&["ip", "-o", "link", "show", &iface]).contains(",UP"));
    let show = sh(&["wg", "show", &iface]);
    assert!(show.contains(&keys.public().to_string()), "{show}");
    assert!(show.contains("listening port: 51820"), "{show}");

    let tunnels = device.tunnels();
    assert!(tunnels.observe().await.expect("observe").is_empty());

    // Add, then read back every field the planner compares.
    let (k1, k2) = (peer_key(), peer_key());
    let first = spec(
        Some("192.0.2.1:51820"),
        &["10.1.0.0/24", "10.1.1.0/24"],
        Some(25),
    );
    tunnels.set_peer(&k1, &first).await.expect("set k1");
    let observed = tunnels.observe().await.expect("observe");
    assert_eq!(observed.keys().collect::<Vec<_>>(), [&k1]);
    let got = &observed[&k1];
    assert_eq!(got.endpoint, first.endpoint);
    assert_eq!(got.allowed_ips, first.allowed_ips);
    assert_eq!(got.keepalive, Some(Duration::from_secs(25)));
    assert!(got.same_programming(&first));

    // Allowed IPs are replaced, not merged; keepalive can be switched off.
    let moved = spec(Some("192.0.2.1:51820"), &["10.2.0.0/16"], None);
    tunnels.set_peer(&k1, &moved).await.expect("update k1");
    let got = &tunnels.observe().await.expect("observe")[&k1];
    assert_eq!(got.allowed_ips, moved.allowed_ips);
    assert_eq!(got.keepalive, None);
    assert!(got.same_programming(&moved));

    let second = spec(None, &["10.3.0.0/24", "fd00:3::/64"], None);
    tunnels.set_peer(&k2, &second).await.expect("set k2");
    tunnels.remove_peer(&k1).await.expect("remove k1");
    let observed = tunnels.observe().await.expect("observe");
    assert_eq!(observed.keys().collect::<Vec<_>>(), [&k2]);
    assert!(observed[&k2].same_programming(&second));
    let ages = tunnels.handshake_ages().await.expect("handshakes");
    assert_eq!(ages.get(&k2), Some(&None), "never handshaked");

    // A restarted agent adopts the running device: same process, peers kept, and the
    // same UDP socket (wireguard-go rebinds on any `listen_port` it is given, which
    // would drop packets in flight). (`WgDevice` has no `Drop`: letting go of `device`
    // leaves the device running.)
    let socket_before = udp_socket_inode(51820);
    let again = WgDevice::start(&config, &keys).await.expect("adopt");
    let adopted = again.process().expect("process");
    assert!(adopted.adopted);
    assert_eq!(adopted.pid, process.pid);
    assert_eq!(
        udp_socket_inode(51820),
        socket_before,
        "adopting rebound the device's UDP socket"
    );
    let observed = again.tunnels().observe().await.expect("observe");
    assert!(observed[&k2].same_programming(&second));

    again
        .cleanup(Duration::from_secs(5))
        .await
        .expect("cleanup");
    assert!(
        !uapi::process_alive(process.pid),
        "device process left running"
    );
    assert!(!uapi::socket_path(&iface).exists());
    assert!(!sh(&["ip", "-o", "link", "show"]).contains(&iface));
    // Cleaning up what is already gone is fine (uninstall may run twice).
    crate::wireguard::cleanup(&iface, Duration::from_secs(1))
        .await
        .expect("second cleanup");
}

#[test]
fn kernel_backend_fails_clearly_and_auto_falls_back() {
    in_netns(
        "wireguard::tests::device::kernel_backend_fails_clearly_and_auto_falls_back",
        |_| {},
        || run(kernel_backend_body()),
    );
}

async fn kernel_backend_body() {
    // This suite documents the kernel without WireGuard that CI has.
    assert!(
        !Path::new("/sys/module/wireguard").exists(),
        "this kernel has WireGuard: the test expects a kernel without it"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = NodeKeys::load_or_generate(dir.path()).expect("keys");
    let iface = interface("k");
    let mut config = config(&iface, dir.path());
    config.backend = BackendChoice::Kernel;
    let err = WgDevice::start(&config, &keys)
        .await
        .expect_err("no kernel WireGuard");
    assert!(
        matches!(err, WireGuardError::KernelUnsupported { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("kernel"), "{err}");

    config.backend = BackendChoice::Auto;
    let device = WgDevice::start(&config, &keys).await.expect("auto");
    let process = device.process().expect("auto fell back to userspace");
    let _guard = KillOnDrop {
        pid: process.pid,
        interface: iface.clone(),
        child: None,
    };
    assert_eq!(device.backend(), wireguard_control::Backend::Userspace);
    device
        .cleanup(Duration::from_secs(5))
        .await
        .expect("cleanup");
    assert!(!uapi::process_alive(process.pid));
}

/// The inode of the UDP socket bound to `port`, as `ss` shows it.
fn udp_socket_inode(port: u16) -> String {
    let out = sh(&["ss", "-Huanpe", "sport", "=", &format!(":{port}")]);
    out.split_whitespace()
        .find_map(|field| field.strip_prefix("ino:"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no UDP socket on port {port}: {out:?}"))
}
