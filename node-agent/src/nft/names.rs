//! Deterministic nft identifiers and literals derived from frontends and backends.
//!
//! Chain names are built only from `[a-z0-9_]`, which every nft version accepts as an
//! identifier, and they encode everything that identifies the object: a frontend's chain
//! is `svc_<vip>_<proto>_<port>` and a backend's chain `<service chain>_be_<ip>_<port>`.
//! A service chain never contains `_be_`, so the backend chains of a service are exactly
//! the chains starting with its name followed by `_be_`, and no two services collide.

use std::net::{IpAddr, SocketAddr};

use clustermesh_proto::Protocol;

use crate::plan::ServiceFrontend;

/// The default table: `inet`, so one table holds both families.
pub const DEFAULT_TABLE: &str = "clustermesh";

/// The verdict map of IPv4 frontends: `ip daddr . meta l4proto . th dport`.
pub(crate) const MAP4: &str = "services4";
/// The verdict map of IPv6 frontends: `ip6 daddr . meta l4proto . th dport`.
pub(crate) const MAP6: &str = "services6";

/// The sets of frontends without backends, rejected from `filter` chains: a `nat` chain
/// only runs while conntrack is active in the namespace, and nothing but our `dnat`
/// rules may be keeping it active, so a reject there could silently turn into a black
/// hole once the last backend is gone.
pub(crate) const EMPTY4: &str = "empty4";
pub(crate) const EMPTY6: &str = "empty6";

/// Before kube-proxy's DNAT (`dstnat` = -100), so a VIP we own is translated first and
/// kube-proxy then sees a backend address it has no rule for.
pub(crate) const PRIORITY: i32 = -110;

/// Whether `name` is safe to use as a table name: a letter, then letters, digits or `_`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn service_chain(frontend: &ServiceFrontend) -> String {
    format!(
        "svc_{}_{}_{}",
        ip_part(frontend.vip),
        proto(frontend.protocol),
        frontend.port
    )
}

/// The prefix shared by every backend chain of the service chain `service`.
pub(crate) fn backend_prefix(service: &str) -> String {
    format!("{service}_be_")
}

pub(crate) fn backend_chain(service: &str, target: SocketAddr) -> String {
    format!(
        "{}{}_{}",
        backend_prefix(service),
        ip_part(target.ip()),
        target.port()
    )
}

/// The map holding frontends of `vip`'s family.
pub(crate) fn map_of(vip: IpAddr) -> &'static str {
    if vip.is_ipv4() { MAP4 } else { MAP6 }
}

/// The set holding backend-less frontends of `vip`'s family.
pub(crate) fn empty_set_of(vip: IpAddr) -> &'static str {
    if vip.is_ipv4() { EMPTY4 } else { EMPTY6 }
}

/// nft's name of a protocol, in rules and in `-j` output.
pub(crate) fn proto(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

pub(crate) fn parse_proto(name: &str) -> Option<Protocol> {
    match name {
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        "sctp" => Some(Protocol::Sctp),
        _ => None,
    }
}

/// The target of a `dnat` statement: `ip to 10.0.0.1:80` or `ip6 to [fd00::1]:80`.
pub(crate) fn dnat_target(target: SocketAddr) -> String {
    match target {
        SocketAddr::V4(v4) => format!("ip to {}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => format!("ip6 to [{}]:{}", v6.ip(), v6.port()),
    }
}

/// An address as identifier characters: dotted quads or the eight IPv6 groups in hex,
/// joined by `_` (never `::`-compressed, so the mapping is one to one).
fn ip_part(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4
            .octets()
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join("_"),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join("_"),
    }
}
