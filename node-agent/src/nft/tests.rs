//! Rendering and parsing, without nftables: the exact transaction text for small updates,
//! and a captured `nft -j list table` output read back.

use std::{collections::BTreeMap, net::SocketAddr};

use clustermesh_proto::{ClusterName, Protocol};

use super::{Counter, model::Listed, names, parse, render};
use crate::{
    exec::ServiceUpdate,
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
    view::ServiceName,
};

/// `nft -j list table inet clustermesh` after applying [`WEB_AND_EMPTY`] to an empty
/// table, then connecting six times to 10.96.0.10:80 from the namespace itself (the
/// backends do not answer): three connections went to each backend. nftables v1.0.6, Linux 6.18.
const LISTED: &str = include_str!("testdata/listed.json");

const HEADER: &str = "\
add table inet clustermesh
add map inet clustermesh services4 { type ipv4_addr . inet_proto . inet_service : verdict; }
add set inet clustermesh empty4 { type ipv4_addr . inet_proto . inet_service; }
add set inet clustermesh counted4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; counter; }
add map inet clustermesh services6 { type ipv6_addr . inet_proto . inet_service : verdict; }
add set inet clustermesh empty6 { type ipv6_addr . inet_proto . inet_service; }
add set inet clustermesh counted6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; counter; }
add chain inet clustermesh reject_empty
flush chain inet clustermesh reject_empty
add rule inet clustermesh reject_empty meta l4proto tcp reject with tcp reset
add rule inet clustermesh reject_empty reject with icmpx port-unreachable
add chain inet clustermesh nat_prerouting { type nat hook prerouting priority -110; policy accept; }
flush chain inet clustermesh nat_prerouting
add rule inet clustermesh nat_prerouting ip daddr . meta l4proto . th dport vmap @services4
add rule inet clustermesh nat_prerouting ip6 daddr . meta l4proto . th dport vmap @services6
add chain inet clustermesh filter_prerouting { type filter hook prerouting priority -110; policy accept; }
flush chain inet clustermesh filter_prerouting
add rule inet clustermesh filter_prerouting ip daddr . meta l4proto . th dport @empty4 goto reject_empty
add rule inet clustermesh filter_prerouting ip6 daddr . meta l4proto . th dport @empty6 goto reject_empty
add chain inet clustermesh count_prerouting { type filter hook prerouting priority -99; policy accept; }
flush chain inet clustermesh count_prerouting
add rule inet clustermesh count_prerouting ct state != new accept
add rule inet clustermesh count_prerouting meta l4proto tcp ct status ! confirmed ct original ip daddr . ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
add rule inet clustermesh count_prerouting meta l4proto udp ct status ! confirmed ct original ip daddr . ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
add rule inet clustermesh count_prerouting meta l4proto sctp ct status ! confirmed ct original ip daddr . ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
add rule inet clustermesh count_prerouting meta l4proto tcp ct status ! confirmed ct original ip6 daddr . ct original proto-dst . ct reply ip6 saddr . ct reply proto-src @counted6
add rule inet clustermesh count_prerouting meta l4proto udp ct status ! confirmed ct original ip6 daddr . ct original proto-dst . ct reply ip6 saddr . ct reply proto-src @counted6
add rule inet clustermesh count_prerouting meta l4proto sctp ct status ! confirmed ct original ip6 daddr . ct original proto-dst . ct reply ip6 saddr . ct reply proto-src @counted6
add chain inet clustermesh nat_output { type nat hook output priority -110; policy accept; }
flush chain inet clustermesh nat_output
add rule inet clustermesh nat_output ip daddr . meta l4proto . th dport vmap @services4
add rule inet clustermesh nat_output ip6 daddr . meta l4proto . th dport vmap @services6
add chain inet clustermesh filter_output { type filter hook output priority -110; policy accept; }
flush chain inet clustermesh filter_output
add rule inet clustermesh filter_output ip daddr . meta l4proto . th dport @empty4 goto reject_empty
add rule inet clustermesh filter_output ip6 daddr . meta l4proto . th dport @empty6 goto reject_empty
add chain inet clustermesh count_output { type filter hook output priority -99; policy accept; }
flush chain inet clustermesh count_output
add rule inet clustermesh count_output ct state != new accept
add rule inet clustermesh count_output meta l4proto tcp ct status ! confirmed ct original ip daddr . ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
add rule inet clustermesh count_output meta l4proto udp ct status ! confirmed ct original ip daddr . ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
add rule inet clustermesh count_output meta l4proto sctp ct status ! confirmed ct original ip daddr . ct original proto-dst . ct reply ip saddr . ct reply proto-src @counted4
add rule inet clustermesh count_output meta l4proto tcp ct status ! confirmed ct original ip6 daddr . ct original proto-dst . ct reply ip6 saddr . ct reply proto-src @counted6
add rule inet clustermesh count_output meta l4proto udp ct status ! confirmed ct original ip6 daddr . ct original proto-dst . ct reply ip6 saddr . ct reply proto-src @counted6
add rule inet clustermesh count_output meta l4proto sctp ct status ! confirmed ct original ip6 daddr . ct original proto-dst . ct reply ip6 saddr . ct reply proto-src @counted6
";

const WEB_AND_EMPTY: &str = "\
add map inet clustermesh slot4_0 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add chain inet clustermesh dnat4_0
add rule inet clustermesh dnat4_0 dnat ip to ip daddr . meta l4proto . th dport map @slot4_0
add map inet clustermesh slot4_1 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add chain inet clustermesh dnat4_1
add rule inet clustermesh dnat4_1 dnat ip to ip daddr . meta l4proto . th dport map @slot4_1
add chain inet clustermesh spread4_2
add rule inet clustermesh spread4_2 numgen random mod 2 vmap { 0 : goto dnat4_0, 1 : goto dnat4_1 }
add element inet clustermesh counted4 { 10.96.0.10 . 80 . 10.250.0.2 . 8080 comment \"a/node-1\", 10.96.0.10 . 80 . 10.250.0.3 . 8080 comment \"b\" }
add element inet clustermesh empty4 { 10.96.0.12 . udp . 53 comment \"shop/empty\" }
add element inet clustermesh services4 { 10.96.0.10 . tcp . 80 comment \"shop/web\" : goto spread4_2 }
add element inet clustermesh slot4_0 { 10.96.0.10 . tcp . 80 : 10.250.0.2 . 8080 }
add element inet clustermesh slot4_1 { 10.96.0.10 . tcp . 80 : 10.250.0.3 . 8080 }
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
        render::Table::named(names::DEFAULT_TABLE),
        &mut model,
        update,
        render::Base::Write,
    )
    .expect("renders")
}

/// `listed` with every counter at zero: a model knows the rules, not the traffic.
pub(super) fn without_counters(listed: &Listed) -> Listed {
    let mut out = listed.clone();
    for counted in out.counted.values_mut() {
        counted.counter = Counter::default();
    }
    out
}

#[test]
fn the_model_after_a_transaction_is_what_nft_then_lists() {
    let mut model = Listed::default();
    render::transaction(
        render::Table::named(names::DEFAULT_TABLE),
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
        render::Table::named(names::DEFAULT_TABLE),
        &mut model,
        &update,
        render::Base::Keep,
    )
    .expect("renders");
    assert_eq!(
        text,
        "\
add chain inet clustermesh spread4_1
add rule inet clustermesh spread4_1 numgen random mod 1 vmap { 0 : goto dnat4_0 }
delete element inet clustermesh counted4 { 10.96.0.10 . 80 . 10.250.0.3 . 8080 }
delete element inet clustermesh services4 { 10.96.0.10 . tcp . 80 }
delete element inet clustermesh slot4_1 { 10.96.0.10 . tcp . 80 }
add element inet clustermesh services4 { 10.96.0.10 . tcp . 80 comment \"shop/web\" : goto spread4_1 }
"
    );
    assert_eq!(model.observe().expect("observes")[&web], update.set[&web]);
    // The two-backend chains stay for whoever needs them next.
    assert!(model.spread_intact(true, 2));
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
                    packets: 3,
                    bytes: 180
                }
            ),
            (
                (web, "10.250.0.3:8080".parse().expect("addr")),
                Counter {
                    packets: 3,
                    bytes: 180
                }
            ),
        ])
    );
    // Counted elements are commented `cluster/node` (or `cluster`).
    assert_eq!(
        listed.connections_per_cluster("10.96.0.10:80".parse().expect("addr")),
        BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 3)])
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
    // The kept backend's slot and counted element (and counter) are untouched; the
    // verdict stays.
    let expected = "\
delete element inet clustermesh counted4 { 10.96.0.10 . 80 . 10.250.0.3 . 8080 }
delete element inet clustermesh empty4 { 10.96.0.12 . udp . 53 }
delete element inet clustermesh slot4_1 { 10.96.0.10 . tcp . 80 }
add element inet clustermesh counted4 { 10.96.0.10 . 80 . 10.250.0.4 . 8080 comment \"c\" }
add element inet clustermesh slot4_1 { 10.96.0.10 . tcp . 80 : 10.250.0.4 . 8080 }
";
    assert_eq!(render(&current, &update), format!("{HEADER}{expected}"));
}

#[test]
fn re_applying_what_is_programmed_touches_no_backend() {
    let current = parse::listed(LISTED).expect("parses");
    let text = render(&current, &web_and_empty());
    assert_eq!(text, HEADER, "only the base is rewritten");
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
fn ipv6_frontends_get_their_own_maps_and_chains() {
    let fe = frontend("fd00::10", 443, Protocol::Sctp);
    let update = ServiceUpdate {
        set: BTreeMap::from([(
            fe,
            service("shop/v6", vec![backend("[fd00::1:2]:8443", "a", None)]),
        )]),
        remove: Default::default(),
    };
    let text = render(&Listed::default(), &update);
    let lines = [
        "add rule inet clustermesh dnat6_0 dnat ip6 to ip6 daddr . meta l4proto . th dport map @slot6_0",
        "add rule inet clustermesh spread6_1 numgen random mod 1 vmap { 0 : goto dnat6_0 }",
        "add element inet clustermesh slot6_0 { fd00::10 . sctp . 443 : fd00::1:2 . 8443 }",
        "add element inet clustermesh counted6 { fd00::10 . 443 . fd00::1:2 . 8443 comment \"a\" }",
        "add element inet clustermesh services6 { fd00::10 . sctp . 443 comment \"shop/v6\" : goto spread6_1 }",
    ];
    for line in lines {
        assert!(
            text.contains(&format!("{line}\n")),
            "{line}\nnot in\n{text}"
        );
    }
}

#[test]
fn refuses_backends_of_another_family_and_port_zero() {
    let refused = |fe: ServiceFrontend, b: BackendTarget| {
        let update = ServiceUpdate {
            set: BTreeMap::from([(fe, service("shop/web", vec![b]))]),
            remove: Default::default(),
        };
        render::transaction(
            render::Table::named("clustermesh"),
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
fn a_damaged_service_is_not_observed_so_the_planner_sets_it_again() {
    let listed = parse::listed(LISTED).expect("parses");
    let web = frontend("10.96.0.10", 80, Protocol::Tcp);
    let damaged = |damage: fn(&mut Listed)| {
        let mut model = listed.clone();
        damage(&mut model);
        let observed = model.observe().expect("observes");
        (
            !observed.contains_key(&web),
            render(&model, &web_and_empty()),
        )
    };
    // A slot gone: the service is not observed, and the next apply adds the slot back.
    let (missing, text) = damaged(|m| {
        m.backends.retain(|(_, slot), _| *slot != 1);
    });
    assert!(missing);
    let slot = "add element inet clustermesh slot4_1 { 10.96.0.10 . tcp . 80 : 10.250.0.3 . 8080 }";
    assert!(text.contains(slot), "{text}");
    // A counted element gone: the same, for the counted element.
    let (missing, text) = damaged(|m| m.counted.clear());
    assert!(missing);
    assert!(
        text.contains("add element inet clustermesh counted4 {"),
        "{text}"
    );
    // A slot's dnat chain emptied: rewritten in place.
    let (missing, text) = damaged(|m| {
        m.chains.insert("dnat4_1".into(), Vec::new());
    });
    assert!(missing);
    let rewritten = "flush chain inet clustermesh dnat4_1\nadd rule inet clustermesh dnat4_1 dnat";
    assert!(text.contains(rewritten), "{text}");
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

#[test]
fn the_tunnel_port_skips_conntrack_and_a_table_without_one_empties_the_raw_chains() {
    let mut model = Listed::default();
    let untracked = render::Table {
        name: names::DEFAULT_TABLE,
        untracked_udp_port: Some(51871),
    };
    let text = render::transaction(untracked, &mut model, &web_and_empty(), render::Base::Write)
        .expect("renders");
    let raw = "\
add chain inet clustermesh raw_prerouting { type filter hook prerouting priority -300; policy accept; }
flush chain inet clustermesh raw_prerouting
add rule inet clustermesh raw_prerouting udp dport 51871 fib daddr type local notrack
add chain inet clustermesh raw_output { type filter hook output priority -300; policy accept; }
flush chain inet clustermesh raw_output
add rule inet clustermesh raw_output udp sport 51871 notrack
";
    assert_eq!(text, format!("{HEADER}{raw}{WEB_AND_EMPTY}"));

    let text = render::transaction(
        render::Table::named(names::DEFAULT_TABLE),
        &mut model,
        &ServiceUpdate::default(),
        render::Base::Write,
    )
    .expect("renders");
    let flushes = "\
flush chain inet clustermesh raw_prerouting
flush chain inet clustermesh raw_output
";
    assert!(text.ends_with(flushes), "{text}");
    assert_eq!(model.chains["raw_prerouting"], Vec::new());
}
