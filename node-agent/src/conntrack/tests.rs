use std::{net::SocketAddr, process::Command, time::Duration};

use clustermesh_proto::Protocol;

use super::message::{Entry, IPS_SEEN_REPLY, Tuple};
use super::{Conntrack, is_stale};
use crate::exec::{Flows, LostBackends};
use crate::netns_testing::in_netns;
use crate::plan::ServiceFrontend;

fn frontend(vip: &str, port: u16, protocol: Protocol) -> ServiceFrontend {
    ServiceFrontend {
        vip: vip.parse().expect("address"),
        port,
        protocol,
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("address")
}

fn entry(protocol: u8, dst: &str, backend: &str, status: u32) -> Entry {
    Entry {
        original: Tuple {
            protocol,
            src: addr("10.3.2.20:45908"),
            dst: addr(dst),
        },
        reply: Tuple {
            protocol,
            src: addr(backend),
            dst: addr("10.3.2.20:45908"),
        },
        status,
        id: None,
        zone: None,
    }
}

#[test]
fn only_unanswered_flows_to_a_lost_backend_are_stale_and_every_udp_one() {
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    let dns = frontend("10.96.0.53", 53, Protocol::Udp);
    let lost = LostBackends::from([
        (web, vec![addr("10.1.2.10:8080")]),
        (dns, vec![addr("10.1.2.53:5353")]),
    ]);
    let stale = |e: &Entry| is_stale(e, &lost);
    assert!(stale(&entry(6, "10.96.0.10:80", "10.1.2.10:8080", 0)));
    let answered = entry(6, "10.96.0.10:80", "10.1.2.10:8080", IPS_SEEN_REPLY);
    assert!(!stale(&answered));
    assert!(!stale(&entry(6, "10.96.0.10:80", "10.2.2.10:8080", 0)));
    assert!(!stale(&entry(6, "10.96.0.10:443", "10.1.2.10:8080", 0)));
    assert!(!stale(&entry(17, "10.96.0.10:80", "10.1.2.10:8080", 0)));
    assert!(!stale(&entry(1, "10.96.0.10:80", "10.1.2.10:8080", 0)));
    // Not translated at all: the flow went to the backend's own address.
    assert!(!stale(&entry(6, "10.1.2.10:8080", "10.1.2.10:8080", 0)));
    // UDP has no connection to drain: answered or not, it goes.
    let dns_answered = entry(17, "10.96.0.53:53", "10.1.2.53:5353", IPS_SEEN_REPLY);
    assert!(stale(&dns_answered));
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect(args[0]);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends every connection to `VIP:port` where `to` says, from locally made traffic.
fn dnat(port: u16, to: &str) {
    let rules = format!(
        "flush ruleset\ntable ip cmt {{\n chain out {{\n  type nat hook output priority -100\n  \
         ip daddr 10.96.0.1 tcp dport {port} dnat to {to}\n  \
         ip daddr 10.96.0.1 udp dport 53 dnat to 10.200.0.5:5353\n }}\n}}\n"
    );
    let path = std::env::temp_dir().join(format!("cmt-conntrack-{}.nft", std::process::id()));
    std::fs::write(&path, rules).expect("write rules");
    sh(&["nft", "-f", path.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_file(path);
}

/// Connects from `from` to `to`, within a deadline.
async fn connect(from: SocketAddr, to: SocketAddr, within: Duration) -> std::io::Result<()> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(from)?;
    match tokio::time::timeout(within, socket.connect(to)).await {
        Ok(stream) => stream.map(drop),
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

fn table() -> String {
    std::fs::read_to_string("/proc/net/nf_conntrack").expect("conntrack table")
}

/// The bug this executor is for, on the real kernel: a client reusing the source port
/// of an unanswered connection follows its old translation to the lost backend until
/// the entry is forgotten; then its connection meets the rules afresh. An answered
/// connection of the same frontend is left alone.
#[test]
fn a_reused_source_port_reaches_the_new_backend_once_the_stale_flow_is_forgotten() {
    in_netns(
        "conntrack::tests::a_reused_source_port_reaches_the_new_backend_once_the_stale_flow_is_forgotten",
        |ns| {
            // Packets to 10.200.0.5 leave by a veth to a MAC nobody has: they vanish.
            ns.exec(&[
                "ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1",
            ]);
            ns.exec(&["ip", "link", "set", "v0", "up"]);
            ns.exec(&["ip", "link", "set", "v1", "up"]);
            ns.exec(&["ip", "addr", "add", "10.200.0.1/24", "dev", "v0"]);
            ns.exec(&["ip", "route", "add", "10.96.0.0/16", "dev", "v0"]);
            for ip in ["10.200.0.5", "10.96.0.1"] {
                let mac = "02:00:00:00:00:05";
                ns.exec(&[
                    "ip",
                    "neigh",
                    "add",
                    ip,
                    "lladdr",
                    mac,
                    "dev",
                    "v0",
                    "nud",
                    "permanent",
                ]);
            }
        },
        || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime")
                .block_on(async {
                    let _backend = std::net::TcpListener::bind("127.0.0.1:8080").expect("listen");
                    let vip = addr("10.96.0.1:80");
                    let client = addr("10.200.0.1:40000");
                    let web = frontend("10.96.0.1", 80, Protocol::Tcp);

                    // An answered connection, to the live backend: kept.
                    dnat(80, "127.0.0.1:8080");
                    let answered = tokio::net::TcpStream::connect(vip).await.expect("live");
                    let answered_port = answered.local_addr().expect("local address").port();
                    // The backend is lost: its connection is never answered.
                    dnat(80, "10.200.0.5:8080");
                    let lost = connect(client, vip, Duration::from_millis(300)).await;
                    assert!(lost.is_err(), "the lost backend answered: {lost:?}");
                    let udp = std::net::UdpSocket::bind("10.200.0.1:0").expect("udp");
                    udp.send_to(b"q", "10.96.0.1:53").expect("udp send");

                    // The rules move on; the reused port still follows the old one.
                    dnat(80, "127.0.0.1:8080");
                    let stuck = connect(client, vip, Duration::from_millis(1500)).await;
                    assert!(stuck.is_err(), "no stale entry to follow: {}", table());

                    let conntrack = Conntrack;
                    // The answered connection is not one to forget, even when its
                    // backend is lost.
                    let answered_lost = LostBackends::from([(web, vec![addr("127.0.0.1:8080")])]);
                    assert_eq!(conntrack.forget(&answered_lost).await.expect("forgets"), 0);
                    // Two frontends in one call.
                    let dns = frontend("10.96.0.1", 53, Protocol::Udp);
                    let lost = LostBackends::from([
                        (web, vec![addr("10.200.0.5:8080")]),
                        (dns, vec![addr("10.200.0.5:5353")]),
                    ]);
                    assert_eq!(conntrack.forget(&lost).await.expect("forgets"), 2);

                    connect(client, vip, Duration::from_secs(5))
                        .await
                        .unwrap_or_else(|e| {
                            panic!("reused port after forgetting: {e}\n{}", table())
                        });
                    let left = table();
                    assert!(
                        left.contains(&format!("sport={answered_port} dport=80 ")),
                        "the answered connection lost its entry:\n{left}"
                    );
                    assert!(!left.contains("10.200.0.5"), "stale entries left:\n{left}");
                    drop(answered);
                });
        },
    );
}
