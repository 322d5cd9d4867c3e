//! Real nftables, each test in a network namespace of its own (see
//! [`crate::netns_testing`]): they fail, never skip, when not root or without `nft`.

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use clustermesh_proto::Protocol;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    process::Command,
    time::{Instant, timeout},
};

use super::{
    NftServices,
    tests::{backend, frontend, service, web_and_empty, without_counters},
};
use crate::{
    exec::{ServiceUpdate, Services},
    netns_testing::{Netns, in_netns},
};

fn block_on<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(body);
}

/// The namespace's own `nft list ruleset`, for assertions and failure messages.
async fn ruleset() -> String {
    let out = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .await
        .expect("runs nft");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn set(entries: Vec<(super::ServiceFrontend, crate::plan::ServiceBackends)>) -> ServiceUpdate {
    ServiceUpdate {
        set: entries.into_iter().collect(),
        remove: Default::default(),
    }
}

#[test]
fn apply_observe_update_remove_and_cleanup() {
    in_netns(
        "nft::netns_tests::apply_observe_update_remove_and_cleanup",
        |_| {},
        || {
            block_on(async {
                let nft = NftServices::new();
                assert_eq!(
                    nft.observe().await.expect("observes no table"),
                    BTreeMap::new()
                );
                let mut first = web_and_empty();
                let v6 = frontend("fd00::10", 443, Protocol::Tcp);
                first.set.insert(
                    v6,
                    service("shop/v6", vec![backend("[fd00::1:2]:8443", "a", None)]),
                );
                nft.apply(&first).await.expect("applies");
                assert_eq!(
                    nft.observe().await.expect("observes"),
                    first.set,
                    "{}",
                    ruleset().await
                );

                // Re-applying changes nothing that is listed (handles aside).
                let before = ruleset().await;
                nft.apply(&first).await.expect("re-applies");
                assert_eq!(ruleset().await, before);

                // One backend replaced, one service removed, in one transaction.
                let web = frontend("10.96.0.10", 80, Protocol::Tcp);
                let moved = service(
                    "shop/web",
                    vec![
                        backend("10.250.0.2:8080", "a", Some("node-1")),
                        backend("10.250.0.4:8080", "c", Some("node-9")),
                    ],
                );
                let update = ServiceUpdate {
                    set: BTreeMap::from([(web, moved.clone())]),
                    remove: [frontend("10.96.0.12", 53, Protocol::Udp)].into(),
                };
                let generations = commits_during(nft.apply(&update)).await;
                assert_eq!(generations, 1, "{}", ruleset().await);
                let mut expected = first.set.clone();
                expected.insert(web, moved);
                expected.remove(&frontend("10.96.0.12", 53, Protocol::Udp));
                assert_eq!(nft.observe().await.expect("observes"), expected);
                assert!(
                    !ruleset().await.contains("10.250.0.3"),
                    "stale backend left: {}",
                    ruleset().await
                );

                nft.cleanup().await.expect("cleans up");
                assert!(
                    !ruleset().await.contains("clustermesh"),
                    "{}",
                    ruleset().await
                );
                nft.cleanup().await.expect("cleaning up twice is fine");
                assert_eq!(nft.observe().await.expect("observes"), BTreeMap::new());
            });
        },
    );
}

#[test]
fn the_model_it_keeps_is_the_kernels_table_and_a_refresh_finds_drift() {
    in_netns(
        "nft::netns_tests::the_model_it_keeps_is_the_kernels_table_and_a_refresh_finds_drift",
        |_| {},
        || {
            block_on(async {
                let nft = NftServices::new();
                let web = frontend("10.96.0.10", 80, Protocol::Tcp);
                nft.apply(&web_and_empty()).await.expect("applies");
                let moved = service(
                    "shop/web",
                    vec![backend("10.250.0.4:8080", "c", Some("node-9"))],
                );
                let update = set(vec![(web, moved.clone())]);
                nft.apply(&update).await.expect("applies a change");
                let model = nft.state.lock().await.model.clone().expect("a model");
                let listed = nft.listed().await.expect("lists");
                assert_eq!(model, without_counters(&listed), "{}", ruleset().await);

                // Someone else's change is not seen until a refresh, then repaired.
                nft_cmd("delete element inet clustermesh services4 { 10.96.0.10 . tcp . 80 }")
                    .await;
                assert_eq!(nft.observe().await.expect("observes")[&web], moved);
                nft.refresh().await;
                assert!(
                    !nft.observe().await.expect("observes").contains_key(&web),
                    "{}",
                    ruleset().await
                );
                nft.apply(&update).await.expect("repairs");
                assert!(
                    ruleset()
                        .await
                        .contains("10.96.0.10 . tcp . 80 comment \"shop/web\" : goto spread4_1"),
                    "{}",
                    ruleset().await
                );
            });
        },
    );
}

/// How many nftables commits (`# new generation`) `work` made, told by `nft monitor`.
async fn commits_during(work: impl Future<Output = Result<(), crate::exec::ExecError>>) -> usize {
    let mut monitor = Command::new("nft")
        .arg("monitor")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts nft monitor");
    let mut lines = BufReader::new(monitor.stdout.take().expect("piped")).lines();
    let deadline = Instant::now() + Duration::from_secs(10);
    // The monitor has no ready signal: add probe tables until it reports one.
    let mut probe = 0;
    'ready: loop {
        assert!(
            Instant::now() < deadline,
            "nft monitor never reported a probe"
        );
        probe += 1;
        nft_cmd(&format!("add table inet cm_probe_{probe}")).await;
        while let Ok(Ok(Some(line))) = timeout(Duration::from_millis(200), lines.next_line()).await
        {
            if line.starts_with("# new generation") && probe > 0 {
                break 'ready;
            }
        }
    }
    work.await.expect("applies");
    nft_cmd("add table inet cm_marker").await;
    let mut commits = 0;
    loop {
        let line = timeout(deadline - Instant::now(), lines.next_line())
            .await
            .expect("nft monitor reports the marker in time")
            .expect("reads nft monitor")
            .expect("nft monitor still running");
        if line.contains("cm_marker") {
            break;
        }
        commits += usize::from(line.starts_with("# new generation"));
    }
    monitor.kill().await.expect("stops nft monitor");
    for name in (1..=probe)
        .map(|p| format!("cm_probe_{p}"))
        .chain(["cm_marker".into()])
    {
        nft_cmd(&format!("delete table inet {name}")).await;
    }
    commits
}

async fn nft_cmd(command: &str) {
    let out = Command::new("nft")
        .args(command.split(' '))
        .output()
        .await
        .expect("runs nft");
    assert!(
        out.status.success(),
        "nft {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two backends on `lo`, a VIP routed out of a veth: connections from this namespace
/// (the `output` hook) reach both, counters move, and an empty service refuses at once.
#[test]
fn connections_to_the_vip_reach_backends_and_empty_services_refuse() {
    in_netns(
        "nft::netns_tests::connections_to_the_vip_reach_backends_and_empty_services_refuse",
        setup_vip_and_backends,
        || block_on(traffic()),
    );
}

fn setup_vip_and_backends(ns: &Netns) {
    ns.exec(&[
        "ip", "link", "add", "cm0", "type", "veth", "peer", "name", "cm1",
    ]);
    ns.exec(&["ip", "addr", "add", "10.96.0.1/16", "dev", "cm0"]);
    ns.exec(&["ip", "link", "set", "cm0", "up"]);
    ns.exec(&["ip", "link", "set", "cm1", "up"]);
    for backend in ["10.250.0.2/32", "10.250.0.3/32"] {
        ns.exec(&["ip", "addr", "add", backend, "dev", "lo"]);
    }
}

async fn traffic() {
    let backends: Vec<SocketAddr> = ["10.250.0.2:8080", "10.250.0.3:8080"]
        .map(|a| a.parse().expect("addr"))
        .into();
    for addr in &backends {
        let listener = TcpListener::bind(addr).await.expect("binds backend");
        // Each backend answers with its own address, so the client sees who served it.
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let me = conn.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let _ = conn.write_all(me.as_bytes()).await;
            }
        });
    }
    let nft = NftServices::new();
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    let targets = backends
        .iter()
        .map(|a| backend(&a.to_string(), "a", None))
        .collect();
    nft.apply(&set(vec![(web, service("shop/web", targets))]))
        .await
        .expect("applies");

    let vip: SocketAddr = "10.96.0.10:80".parse().expect("addr");
    let mut served = BTreeMap::<String, u32>::new();
    for _ in 0..40 {
        let mut conn = timeout(Duration::from_secs(2), TcpStream::connect(vip))
            .await
            .expect("connects in time")
            .expect("connects to the VIP");
        let mut who = String::new();
        timeout(Duration::from_secs(2), conn.read_to_string(&mut who))
            .await
            .expect("answered in time")
            .expect("reads the answer");
        *served.entry(who).or_default() += 1;
    }
    let expected: Vec<String> = backends.iter().map(ToString::to_string).collect();
    assert_eq!(
        served.keys().cloned().collect::<Vec<_>>(),
        expected,
        "{served:?}"
    );

    let counters = nft.counters().await.expect("reads counters");
    for addr in &backends {
        let c = counters.get(&(web, *addr)).copied().unwrap_or_default();
        // One packet per connection: only a connection's first packet is NATed.
        assert_eq!(
            u64::from(served[&addr.to_string()]),
            c.packets,
            "{counters:?}"
        );
    }

    nft.apply(&set(vec![(web, service("shop/web", vec![]))]))
        .await
        .expect("empties");
    let started = Instant::now();
    let refused = timeout(Duration::from_secs(1), TcpStream::connect(vip)).await;
    let Ok(refused) = refused else {
        panic!("not refused at once (a black hole?):\n{}", ruleset().await);
    };
    let err = refused.expect_err("no backend, no connection");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// The node's WireGuard UDP skips conntrack both ways, and nothing else does: a UDP
/// flow to another port from the same peer is still tracked.
#[test]
fn the_tunnel_port_is_untracked_and_other_udp_is_not() {
    in_netns(
        "nft::netns_tests::the_tunnel_port_is_untracked_and_other_udp_is_not",
        |_| {},
        || block_on(untracked_tunnel()),
    );
}

const TUNNEL_PORT: u16 = 51999;
const OTHER_PORT: u16 = 51998;

async fn untracked_tunnel() {
    let peer = crate::netns_testing::Netns::new("peer");
    for args in [
        "ip link add cm0 type veth peer name cm1",
        &format!("ip link set cm1 netns {}", peer.name),
        "ip addr add 10.77.0.1/24 dev cm0",
        "ip link set cm0 up",
    ] {
        crate::netns_testing::run(&args.split(' ').collect::<Vec<_>>());
    }
    peer.exec(&["ip", "addr", "add", "10.77.0.2/24", "dev", "cm1"]);
    peer.exec(&["ip", "link", "set", "cm1", "up"]);

    let nft = NftServices::new().with_untracked_tunnel_port(TUNNEL_PORT);
    nft.apply(&ServiceUpdate::default())
        .await
        .expect("applies the base chains");
    // After conntrack (-200), each probe counts what it sees in one state.
    nft_cmd("add table inet cm_probe").await;
    for (chain, hook) in [("pre", "prerouting"), ("out", "output")] {
        nft_cmd(&format!(
            "add chain inet cm_probe {chain} {{ type filter hook {hook} priority -150 ; }}"
        ))
        .await;
    }
    for rule in [
        format!("pre udp dport {TUNNEL_PORT} ct state untracked counter comment \"tunnel_in\""),
        format!("out udp sport {TUNNEL_PORT} ct state untracked counter comment \"tunnel_out\""),
        format!("pre udp dport {OTHER_PORT} ct state new,established counter comment \"other\""),
    ] {
        nft_cmd(&format!("add rule inet cm_probe {rule}")).await;
    }

    let tunnel = tokio::net::UdpSocket::bind(("0.0.0.0", TUNNEL_PORT))
        .await
        .expect("binds the tunnel port");
    let other = tokio::net::UdpSocket::bind(("0.0.0.0", OTHER_PORT))
        .await
        .expect("binds the other port");
    const PACKETS: usize = 5;
    let send = format!(
        "import socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         for port in ({TUNNEL_PORT}, {OTHER_PORT}):\n\
         \x20   for _ in range({PACKETS}): s.sendto(b'x', ('10.77.0.1', port))\n"
    );
    peer.exec(&["python3", "-c", &send]);
    let mut buf = [0u8; 16];
    for _ in 0..PACKETS {
        for socket in [&tunnel, &other] {
            let (_, from) = timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
                .await
                .expect("a packet in time")
                .expect("receives");
            if std::ptr::eq(socket, &tunnel) {
                tunnel.send_to(b"y", from).await.expect("answers");
            }
        }
    }

    let listed = ruleset().await;
    let packets = |comment: &str| -> u64 {
        listed
            .lines()
            .find(|l| l.contains(&format!("comment \"{comment}\"")))
            .and_then(|l| l.split("packets ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no counter for {comment} in\n{listed}"))
    };
    assert_eq!(packets("tunnel_in"), PACKETS as u64, "{listed}");
    assert_eq!(packets("tunnel_out"), PACKETS as u64, "{listed}");
    assert_eq!(packets("other"), PACKETS as u64, "{listed}");
}
