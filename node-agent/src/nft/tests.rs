//! Rendering and parsing, without nftables: the exact transaction text for small updates,
//! and a captured `nft -j list table` output read back.

use std::{collections::BTreeMap, net::SocketAddr};

use clustermesh_proto::{ClusterName, Protocol};

use super::{
    Counter,
    model::{Listed, Rule},
    names, parse, render,
};
use crate::{
    exec::ServiceUpdate,
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
    view::ServiceName,
};

/// `nft -j list table inet clustermesh` after applying [`WEB_AND_EMPTY`] to an empty
/// table, then connecting three times to 10.96.0.10:80: two SYNs went to the first
/// backend (refused) and two to the second (one connection, unreachable, retransmitted).
/// nftables v1.0.6, Linux 6.18.
const LISTED: &str = include_str!("testdata/listed.json");

const HEADER: &str = "\
add table inet clustermesh
add map inet clustermesh services4 { type ipv4_addr . inet_proto . inet_service : verdict; }
add set inet clustermesh empty4 { type ipv4_addr . inet_proto . inet_service; }
add map inet clustermesh services6 { type ipv6_addr . inet_proto . inet_service : verdict; }
add set inet clustermesh empty6 { type ipv6_addr . inet_proto . inet_service; }
add chain inet clustermesh nat_prerouting { type nat hook prerouting priority -110; policy accept; }
flush chain inet clustermesh nat_prerouting
add rule inet clustermesh nat_prerouting ip daddr . meta l4proto . th dport vmap @services4
add rule inet clustermesh nat_prerouting ip6 daddr . meta l4proto . th dport vmap @services6
add chain inet clustermesh filter_prerouting { type filter hook prerouting priority -110; policy accept; }
flush chain inet clustermesh filter_prerouting
add rule inet clustermesh filter_prerouting meta l4proto tcp ip daddr . meta l4proto . th dport @empty4 reject with tcp reset
add rule inet clustermesh filter_prerouting ip daddr . meta l4proto . th dport @empty4 reject with icmpx port-unreachable
add rule inet clustermesh filter_prerouting meta l4proto tcp ip6 daddr . meta l4proto . th dport @empty6 reject with tcp reset
add rule inet clustermesh filter_prerouting ip6 daddr . meta l4proto . th dport @empty6 reject with icmpx port-unreachable
add chain inet clustermesh nat_output { type nat hook output priority -110; policy accept; }
flush chain inet clustermesh nat_output
add rule inet clustermesh nat_output ip daddr . meta l4proto . th dport vmap @services4
add rule inet clustermesh nat_output ip6 daddr . meta l4proto . th dport vmap @services6
add chain inet clustermesh filter_output { type filter hook output priority -110; policy accept; }
flush chain inet clustermesh filter_output
add rule inet clustermesh filter_output meta l4proto tcp ip daddr . meta l4proto . th dport @empty4 reject with tcp reset
add rule inet clustermesh filter_output ip daddr . meta l4proto . th dport @empty4 reject with icmpx port-unreachable
add rule inet clustermesh filter_output meta l4proto tcp ip6 daddr . meta l4proto . th dport @empty6 reject with tcp reset
add rule inet clustermesh filter_output ip6 daddr . meta l4proto . th dport @empty6 reject with icmpx port-unreachable
";

const WEB_AND_EMPTY: &str = "\
add chain inet clustermesh svc_10_96_0_10_tcp_80
flush chain inet clustermesh svc_10_96_0_10_tcp_80
add chain inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_2_8080
add rule inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_2_8080 meta l4proto tcp counter dnat ip to 10.250.0.2:8080 comment \"a/node-1\"
add chain inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_3_8080
add rule inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_3_8080 meta l4proto tcp counter dnat ip to 10.250.0.3:8080 comment \"b\"
add rule inet clustermesh svc_10_96_0_10_tcp_80 numgen random mod 2 vmap { 0 : goto svc_10_96_0_10_tcp_80_be_10_250_0_2_8080, 1 : goto svc_10_96_0_10_tcp_80_be_10_250_0_3_8080 } comment \"shop/web\"
add element inet clustermesh services4 { 10.96.0.10 . tcp . 80 : goto svc_10_96_0_10_tcp_80 }
add element inet clustermesh empty4 { 10.96.0.12 . udp . 53 comment \"shop/empty\" }
";

pub(super) fn frontend(vip: &str, port: u16, protocol: Protocol) -> ServiceFrontend {
    ServiceFrontend {
        vip: vip.parse().expect("valid VIP"),
        port,
        protocol,
    }
}

pub(super) fn backend(addr: &str, cluster: &str, node: Option<&str>) -> BackendTarget {
    let addr: SocketAddr = addr.parse().expect("valid backend address");
    BackendTarget {
        ip: addr.ip(),
        port: addr.port(),
        cluster: ClusterName::new(cluster).expect("valid cluster name"),
        node: node.map(str::to_owned),
    }
}

pub(super) fn service(name: &str, backends: Vec<BackendTarget>) -> ServiceBackends {
    ServiceBackends {
        name: ServiceName::parse(name).expect("valid service name"),
        backends,
    }
}

pub(super) fn web_and_empty() -> ServiceUpdate {
    ServiceUpdate {
        set: BTreeMap::from([
            (
                frontend("10.96.0.10", 80, Protocol::Tcp),
                service(
                    "shop/web",
                    vec![
                        backend("10.250.0.2:8080", "a", Some("node-1")),
                        backend("10.250.0.3:8080", "b", None),
                    ],
                ),
            ),
            (
                frontend("10.96.0.12", 53, Protocol::Udp),
                service("shop/empty", vec![]),
            ),
        ]),
        remove: Default::default(),
    }
}

fn render(current: &Listed, update: &ServiceUpdate) -> String {
    let mut model = current.clone();
    render::transaction(
        names::DEFAULT_TABLE,
        &mut model,
        update,
        render::Base::Write,
    )
    .expect("renders")
}

/// `listed` with every counter at zero: a model knows the rules, not the traffic.
pub(super) fn without_counters(listed: &Listed) -> Listed {
    let mut out = listed.clone();
    for rule in out.chains.values_mut().flatten() {
        if let Rule::Dnat { counter, .. } = rule {
            *counter = Some(Counter::default());
        }
    }
    out
}

#[test]
fn the_model_after_a_transaction_is_what_nft_then_lists() {
    let mut model = Listed::default();
    render::transaction(
        names::DEFAULT_TABLE,
        &mut model,
        &web_and_empty(),
        render::Base::Write,
    )
    .expect("renders");
    let listed = parse::listed(LISTED).expect("parses");
    assert_eq!(model, without_counters(&listed));
}

#[test]
fn a_model_of_our_own_writes_keeps_the_base_chains_and_lists_nothing() {
    let mut model = parse::listed(LISTED).expect("parses");
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    let update = ServiceUpdate {
        set: BTreeMap::from([(
            web,
            service(
                "shop/web",
                vec![backend("10.250.0.2:8080", "a", Some("node-1"))],
            ),
        )]),
        remove: Default::default(),
    };
    let text = render::transaction(
        names::DEFAULT_TABLE,
        &mut model,
        &update,
        render::Base::Keep,
    )
    .expect("renders");
    assert_eq!(
        text,
        "\
add chain inet clustermesh svc_10_96_0_10_tcp_80
flush chain inet clustermesh svc_10_96_0_10_tcp_80
add rule inet clustermesh svc_10_96_0_10_tcp_80 numgen random mod 1 vmap { 0 : goto svc_10_96_0_10_tcp_80_be_10_250_0_2_8080 } comment \"shop/web\"
delete chain inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_3_8080
"
    );
    assert_eq!(model.observe().expect("observes")[&web], update.set[&web]);
    assert!(
        !model
            .chains
            .contains_key("svc_10_96_0_10_tcp_80_be_10_250_0_3_8080")
    );
}

#[test]
fn renders_a_first_update_as_one_transaction() {
    let text = render(&Listed::default(), &web_and_empty());
    assert_eq!(text, format!("{HEADER}{WEB_AND_EMPTY}"));
}

#[test]
fn parses_what_nft_lists() {
    let listed = parse::listed(LISTED).expect("parses");
    let observed = listed.observe().expect("observes");
    assert_eq!(observed, web_and_empty().set);
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    assert_eq!(
        listed.counters(),
        BTreeMap::from([
            (
                (web, "10.250.0.2:8080".parse().expect("addr")),
                Counter {
                    packets: 2,
                    bytes: 120
                }
            ),
            (
                (web, "10.250.0.3:8080".parse().expect("addr")),
                Counter {
                    packets: 2,
                    bytes: 120
                }
            ),
        ])
    );
    // Backend chains are commented `cluster/node` (or `cluster`): a and b, 2 each.
    assert_eq!(
        listed.connections_per_cluster("10.96.0.10:80".parse().expect("addr")),
        BTreeMap::from([("a".to_owned(), 2), ("b".to_owned(), 2)])
    );
    assert!(
        listed
            .connections_per_cluster("10.96.0.10:81".parse().expect("addr"))
            .is_empty()
    );
}

#[test]
fn renders_a_change_against_the_table_it_replaces() {
    let current = parse::listed(LISTED).expect("parses");
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    let update = ServiceUpdate {
        set: BTreeMap::from([(
            web,
            service(
                "shop/web",
                vec![
                    backend("10.250.0.2:8080", "a", Some("node-1")),
                    backend("10.250.0.4:8080", "c", None),
                ],
            ),
        )]),
        remove: [frontend("10.96.0.12", 53, Protocol::Udp)].into(),
    };
    // The kept backend's chain (and counter) is untouched; the element stays.
    let expected = "\
delete element inet clustermesh empty4 { 10.96.0.12 . udp . 53 }
add chain inet clustermesh svc_10_96_0_10_tcp_80
flush chain inet clustermesh svc_10_96_0_10_tcp_80
add chain inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_4_8080
add rule inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_4_8080 meta l4proto tcp counter dnat ip to 10.250.0.4:8080 comment \"c\"
add rule inet clustermesh svc_10_96_0_10_tcp_80 numgen random mod 2 vmap { 0 : goto svc_10_96_0_10_tcp_80_be_10_250_0_2_8080, 1 : goto svc_10_96_0_10_tcp_80_be_10_250_0_4_8080 } comment \"shop/web\"
delete chain inet clustermesh svc_10_96_0_10_tcp_80_be_10_250_0_3_8080
";
    assert_eq!(render(&current, &update), format!("{HEADER}{expected}"));
}

#[test]
fn re_applying_what_is_programmed_touches_no_backend() {
    let current = parse::listed(LISTED).expect("parses");
    let text = render(&current, &web_and_empty());
    assert!(!text.contains("_be_10_250_0_2_8080 meta"), "{text}");
    assert!(!text.contains("add element"), "{text}");
    assert!(!text.contains("delete"), "{text}");
}

#[test]
fn removing_what_is_absent_renders_nothing_that_could_fail() {
    let update = ServiceUpdate {
        set: BTreeMap::new(),
        remove: [frontend("10.96.0.99", 80, Protocol::Tcp)].into(),
    };
    assert_eq!(render(&Listed::default(), &update), HEADER);
}

#[test]
fn ipv6_frontends_get_their_own_map_and_bracketed_targets() {
    let fe = frontend("fd00::10", 443, Protocol::Sctp);
    let update = ServiceUpdate {
        set: BTreeMap::from([(
            fe,
            service("shop/v6", vec![backend("[fd00::1:2]:8443", "a", None)]),
        )]),
        remove: Default::default(),
    };
    let text = render(&Listed::default(), &update);
    let chain = "svc_fd00_0_0_0_0_0_0_10_sctp_443";
    assert!(text.contains(&format!(
        "add rule inet clustermesh {chain}_be_fd00_0_0_0_0_0_1_2_8443 meta l4proto sctp counter dnat ip6 to [fd00::1:2]:8443 comment \"a\"\n"
    )), "{text}");
    assert!(
        text.contains(&format!(
            "add element inet clustermesh services6 {{ fd00::10 . sctp . 443 : goto {chain} }}\n"
        )),
        "{text}"
    );
}

#[test]
fn refuses_backends_of_another_family_and_port_zero() {
    let refused = |fe: ServiceFrontend, b: BackendTarget| {
        let update = ServiceUpdate {
            set: BTreeMap::from([(fe, service("shop/web", vec![b]))]),
            remove: Default::default(),
        };
        render::transaction(
            "clustermesh",
            &mut Listed::default(),
            &update,
            render::Base::Write,
        )
        .expect_err("refused")
    };
    let v4 = frontend("10.96.0.10", 80, Protocol::Tcp);
    let err = refused(v4, backend("[fd00::1]:80", "a", None));
    assert!(err.to_string().contains("address family"), "{err}");
    let err = refused(v4, backend("10.0.0.1:0", "a", None));
    assert!(err.to_string().contains("port 0"), "{err}");
}

#[test]
fn a_damaged_backend_chain_is_not_observed_so_the_planner_sets_it_again() {
    let mut listed = parse::listed(LISTED).expect("parses");
    let damaged = "svc_10_96_0_10_tcp_80_be_10_250_0_3_8080";
    listed.chains.insert(damaged.into(), vec![]);
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    let observed = listed.observe().expect("observes");
    assert_eq!(
        observed[&web].backends,
        vec![backend("10.250.0.2:8080", "a", Some("node-1"))]
    );
    // And the next apply rewrites it in place.
    let text = render(&listed, &web_and_empty());
    assert!(
        text.contains(&format!("flush chain inet clustermesh {damaged}\n")),
        "{text}"
    );
}

#[test]
fn table_names_must_be_identifiers() {
    assert!(super::NftServices::new().with_table("cm_test1").is_ok());
    for bad in ["", "1abc", "a-b", "a b", "a;flush ruleset"] {
        assert!(
            super::NftServices::new().with_table(bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn a_missing_nft_binary_is_named_in_the_error() {
    use crate::exec::Services as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let nft = super::NftServices::new().with_binary("/nonexistent/nft");
    let err = runtime.block_on(nft.observe()).expect_err("no binary");
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/nft") && text.contains("nftables"),
        "{text}"
    );
}
