//! The global services installed for lb-scale, rendered two ways: as the agent's
//! [`ServiceUpdate`] and as the kube-proxy iptables model (a linear `SERVICES` chain
//! with one rule per VIP, a chain per service choosing an endpoint with `statistic`,
//! a chain per endpoint doing the DNAT).
//!
//! Service `i` has VIP 10.96.0.0 + 1 + i, port 80/tcp and two backends. Every service
//! but the probed one points at addresses nobody answers; the probed one is the last,
//! the worst case of the linear chain, and points at the real server's two ports.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::{IpAddr, Ipv4Addr},
};

use clustermesh_proto::{ClusterName, Protocol};
use node_agent::{
    BackendTarget, ServiceBackends, ServiceFrontend, ServiceName, exec::ServiceUpdate,
};

/// The backend pod's address and the two ports its server listens on.
pub const SERVER_IP: Ipv4Addr = Ipv4Addr::new(10, 244, 2, 2);
pub const SERVER_PORTS: [u16; 2] = [8080, 8081];
pub const VIP_PORT: u16 = 80;
const VIP_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const UNUSED_BASE: [u32; 2] = [
    u32::from_be_bytes([10, 245, 0, 0]),
    u32::from_be_bytes([10, 246, 0, 0]),
];

/// The VIP of service `i`.
pub fn vip(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(VIP_BASE + 1 + i as u32)
}

/// The `(ip, port)` backends of service `i` of `count`; `generation` moves the first
/// backend of a non-probed service, to make a one-backend change.
fn backends(i: usize, count: usize, generation: u32) -> [(Ipv4Addr, u16); 2] {
    if i + 1 == count {
        return SERVER_PORTS.map(|port| (SERVER_IP, port));
    }
    let at = |base: u32| Ipv4Addr::from(base + 1 + i as u32);
    [
        (at(UNUSED_BASE[0]), 8080 + generation as u16),
        (at(UNUSED_BASE[1]), 8080),
    ]
}

fn frontend(i: usize) -> ServiceFrontend {
    ServiceFrontend {
        vip: IpAddr::V4(vip(i)),
        port: VIP_PORT,
        protocol: Protocol::Tcp,
    }
}

fn agent_service(i: usize, count: usize, generation: u32) -> ServiceBackends {
    let cluster = ClusterName::new("bench").expect("a valid cluster name");
    let mut backends: Vec<BackendTarget> = backends(i, count, generation)
        .into_iter()
        .map(|(ip, port)| BackendTarget {
            ip: IpAddr::V4(ip),
            port,
            cluster: cluster.clone(),
            node: None,
        })
        .collect();
    backends.sort();
    ServiceBackends {
        name: ServiceName::parse(&format!("bench/svc-{i}")).expect("a valid service name"),
        backends,
    }
}

/// All `count` services, as one agent update from nothing.
pub fn agent_full(count: usize) -> ServiceUpdate {
    ServiceUpdate {
        set: (0..count)
            .map(|i| (frontend(i), agent_service(i, count, 0)))
            .collect(),
        remove: Default::default(),
    }
}

/// Service 0's first backend moved to generation `generation`, as the agent's planner
/// would hand it over: only the changed frontend.
pub fn agent_one_change(count: usize, generation: u32) -> ServiceUpdate {
    ServiceUpdate {
        set: BTreeMap::from([(frontend(0), agent_service(0, count, generation))]),
        remove: Default::default(),
    }
}

fn svc_chain(i: usize) -> String {
    format!("CMB-SVC-{i}")
}

/// Named after the endpoint, as kube-proxy's are: an unchanged endpoint keeps its
/// chain. Hex keeps it within iptables' 28-character chain names.
fn sep_chain(i: usize, (ip, port): (Ipv4Addr, u16)) -> String {
    format!("CMB-SEP-{i}-{:08x}-{port}", u32::from(ip))
}

/// Service `i`'s chain: one rule per endpoint, the first ones drawn with `statistic`.
fn iptables_svc_rules(out: &mut String, i: usize, endpoints: &[(Ipv4Addr, u16)]) {
    let svc = svc_chain(i);
    for (j, &endpoint) in endpoints.iter().enumerate() {
        let sep = sep_chain(i, endpoint);
        let remaining = endpoints.len() - j;
        if remaining > 1 {
            let p = 1.0 / remaining as f64;
            let _ = writeln!(
                out,
                "-A {svc} -m statistic --mode random --probability {p:.10} -j {sep}"
            );
        } else {
            let _ = writeln!(out, "-A {svc} -j {sep}");
        }
    }
}

fn iptables_sep(out: &mut String, i: usize, endpoint: (Ipv4Addr, u16)) {
    let (ip, port) = endpoint;
    let sep = sep_chain(i, endpoint);
    let _ = writeln!(out, ":{sep} - [0:0]");
    let _ = writeln!(out, "-A {sep} -p tcp -j DNAT --to-destination {ip}:{port}");
}

/// Declares and fills service `i`'s chain and its endpoint chains.
fn iptables_service(out: &mut String, i: usize, count: usize) {
    let endpoints = backends(i, count, 0);
    let _ = writeln!(out, ":{} - [0:0]", svc_chain(i));
    for endpoint in endpoints {
        iptables_sep(out, i, endpoint);
    }
    iptables_svc_rules(out, i, &endpoints);
}

/// The whole nat table for `count` services, for `iptables-restore` (which replaces it).
pub fn iptables_full(count: usize) -> String {
    let mut out = String::from("*nat\n:PREROUTING ACCEPT [0:0]\n:CMB-SERVICES - [0:0]\n");
    for i in 0..count {
        iptables_service(&mut out, i, count);
    }
    out.push_str("-A PREROUTING -j CMB-SERVICES\n");
    for i in 0..count {
        let _ = writeln!(
            out,
            "-A CMB-SERVICES -d {}/32 -p tcp -m tcp --dport {VIP_PORT} -j {}",
            vip(i),
            svc_chain(i)
        );
    }
    out.push_str("COMMIT\n");
    out
}

/// Service 0's change the way kube-proxy's partial sync writes it (`iptables-restore
/// --noflush`): its chain redeclared (so flushed) and refilled, the moved endpoint's
/// chain added and the old one flushed and deleted.
pub fn iptables_one_change(count: usize, generation: u32) -> String {
    let before = backends(0, count, generation.saturating_sub(1));
    let after = backends(0, count, generation);
    let mut out = String::from("*nat\n");
    let _ = writeln!(out, ":{} - [0:0]", svc_chain(0));
    for endpoint in after.iter().filter(|e| !before.contains(e)) {
        iptables_sep(&mut out, 0, *endpoint);
    }
    iptables_svc_rules(&mut out, 0, &after);
    // A chain is deleted only empty: declaring it again flushes it first.
    let stale: Vec<String> = before
        .iter()
        .filter(|e| !after.contains(e))
        .map(|e| sep_chain(0, *e))
        .collect();
    for chain in &stale {
        let _ = writeln!(out, ":{chain} - [0:0]");
    }
    for chain in &stale {
        let _ = writeln!(out, "-X {chain}");
    }
    out.push_str("COMMIT\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probed_service_is_the_last_and_points_at_the_server() {
        let update = agent_full(3);
        assert_eq!(update.set.len(), 3);
        let probed = &update.set[&frontend(2)];
        assert!(
            probed
                .backends
                .iter()
                .all(|b| b.ip == IpAddr::V4(SERVER_IP))
        );
        assert_eq!(vip(0), Ipv4Addr::new(10, 96, 0, 1));
        assert_eq!(vip(9_999), Ipv4Addr::new(10, 96, 39, 16));
    }

    #[test]
    fn one_change_moves_one_backend_of_service_zero() {
        let before = &agent_full(10).set[&frontend(0)];
        let after = &agent_one_change(10, 1).set[&frontend(0)];
        assert!(!before.same_programming(after));
        assert_eq!(agent_one_change(10, 1).set.len(), 1);
    }

    #[test]
    fn the_iptables_model_has_a_rule_per_vip_in_one_linear_chain() {
        let text = iptables_full(3);
        let dispatch = text
            .lines()
            .filter(|l| l.starts_with("-A CMB-SERVICES"))
            .count();
        assert_eq!(dispatch, 3);
        assert!(
            text.contains("-A CMB-SERVICES -d 10.96.0.3/32 -p tcp -m tcp --dport 80 -j CMB-SVC-2")
        );
        assert!(text.contains("-j DNAT --to-destination 10.244.2.2:8081"));
        assert!(text.contains("--probability 0.5000000000"));
        let change = iptables_one_change(3, 1);
        assert!(change.contains(":CMB-SVC-0 - [0:0]"), "{change}");
        assert!(change.contains("-X CMB-SEP-0-0af50001-8080"), "{change}");
        assert!(
            change.contains("--to-destination 10.245.0.1:8081"),
            "{change}"
        );
        assert!(!change.contains(":CMB-SEP-0-0af60001-8080"), "{change}");
        let longest = iptables_full(10_000)
            .lines()
            .filter_map(|l| l.strip_prefix(':'))
            .filter_map(|l| l.split(' ').next())
            .map(str::len)
            .max();
        assert!(longest.is_some_and(|n| n <= 28), "{longest:?}");
    }
}
