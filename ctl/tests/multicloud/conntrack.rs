//! Where the load balancer sent each connection to a VIP, from a node's conntrack table
//! (`/proc/net/nf_conntrack` inside the node's namespace). A connection that never got
//! an answer keeps its entry (`SYN_SENT`, `[UNREPLIED]`) for two minutes, so a failed
//! probe can be told apart by its source port: sent to the killed node's backend, or to
//! one that is still up.

use std::{collections::BTreeMap, process::Command, time::Duration};

use crate::cmd;

/// Per client source port: the backend (`ip:port`) the node's DNAT chose for a
/// connection to `vip:vip_port`. A port seen with two different backends maps to
/// neither, so an ambiguous probe is never attributed.
pub fn vip_backends(node_ns: &str, vip: &str, vip_port: u16) -> BTreeMap<u16, String> {
    let table = table(node_ns);
    let mut seen: BTreeMap<u16, Option<String>> = BTreeMap::new();
    for entry in table.lines().filter_map(|l| parse(l, vip, vip_port)) {
        let (port, backend) = entry;
        seen.entry(port)
            .and_modify(|b| {
                if b.as_deref() != Some(backend.as_str()) {
                    *b = None;
                }
            })
            .or_insert(Some(backend));
    }
    seen.into_iter()
        .filter_map(|(port, b)| Some((port, b?)))
        .collect()
}

/// The node's whole conntrack table, one entry per line.
pub fn table(node_ns: &str) -> String {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", node_ns, "cat", "/proc/net/nf_conntrack"]);
    cmd::run(cmd, Duration::from_secs(10)).ok().stdout
}

/// `ipv4 2 tcp 6 117 SYN_SENT src=C dst=VIP sport=P dport=80 [UNREPLIED] src=B dst=C
/// sport=8080 dport=P …`: the original tuple's source port and the reply's source.
fn parse(line: &str, vip: &str, vip_port: u16) -> Option<(u16, String)> {
    let fields: Vec<(&str, &str)> = line
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .collect();
    let get = |key: &str, nth: usize| {
        fields
            .iter()
            .filter(|(k, _)| *k == key)
            .nth(nth)
            .map(|(_, v)| *v)
    };
    let vip_port = vip_port.to_string();
    if get("dst", 0)? != vip || get("dport", 0)? != vip_port {
        return None;
    }
    let port = get("sport", 0)?.parse().ok()?;
    Some((port, format!("{}:{}", get("src", 1)?, get("sport", 1)?)))
}

#[test]
fn an_unreplied_entry_names_its_backend_and_other_connections_are_ignored() {
    let unreplied = "ipv4     2 tcp      6 117 SYN_SENT src=10.3.2.20 dst=10.96.0.10 \
                     sport=40312 dport=80 [UNREPLIED] src=10.1.2.10 dst=10.3.2.20 \
                     sport=8080 dport=40312 mark=0 zone=0 use=2";
    assert_eq!(
        parse(unreplied, "10.96.0.10", 80),
        Some((40312, "10.1.2.10:8080".to_owned()))
    );
    let other = "ipv4     2 udp      17 29 src=172.30.0.32 dst=172.30.0.22 sport=51820 \
                 dport=51820 src=172.30.0.22 dst=172.30.0.32 sport=51820 dport=51820 use=1";
    assert_eq!(parse(other, "10.96.0.10", 80), None);
}
