//! Deterministic nft identifiers and literals.
//!
//! The table holds a number of chains bounded by the largest backend count, whatever
//! the number of services: services live in map and set elements. A frontend's verdict
//! goes to the spread chain of its family and backend count (`spread4_<n>`), which picks
//! a slot `k` at random and goes to `dnat4_<k>`; that chain DNATs through the slot's map
//! `slot4_<k>` (frontend → backend). nft's userspace looks chains up by name in a list,
//! so a chain per service (or backend) made a 10,000-service transaction take half a
//! minute.

use std::net::IpAddr;

use clustermesh_proto::Protocol;

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

/// The sets counting new connections per backend, keyed by the connection's original
/// destination and reply source, with a counter per element.
pub(crate) const COUNTED4: &str = "counted4";
pub(crate) const COUNTED6: &str = "counted6";

/// Before kube-proxy's DNAT (`dstnat` = -100), so a VIP we own is translated first and
/// kube-proxy then sees a backend address it has no rule for.
pub(crate) const PRIORITY: i32 = -110;

/// Right after the DNAT takes effect, so a new connection's reply tuple names its
/// backend. The kernel runs every nat chain from its own `dstnat` hook (-100), whatever
/// the chain's priority (seen: a filter chain at -109 or -100 still sees the original
/// destination), so the count waits until -99.
pub(crate) const COUNT_PRIORITY: i32 = -99;

/// Before conntrack (-200), where `notrack` takes effect: nftables' `raw` priority.
pub(crate) const RAW_PRIORITY: i32 = -300;

/// The chains exempting the node's own WireGuard UDP from conntrack.
pub(crate) const RAW_PREROUTING: &str = "raw_prerouting";
pub(crate) const RAW_OUTPUT: &str = "raw_output";

/// Whether `name` is safe to use as a table name: a letter, then letters, digits or `_`.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The spread chain of `modulus` backends of one family.
pub(crate) fn spread_chain(v4: bool, modulus: u32) -> String {
    format!("spread{}_{modulus}", family_digit(v4))
}

/// The chain that DNATs slot `slot` of one family, through [`slot_map`].
pub(crate) fn dnat_chain(v4: bool, slot: u32) -> String {
    format!("dnat{}_{slot}", family_digit(v4))
}

/// The map of slot `slot` of one family: `vip . proto . port : address . port`.
pub(crate) fn slot_map(v4: bool, slot: u32) -> String {
    format!("slot{}_{slot}", family_digit(v4))
}

fn family_digit(v4: bool) -> char {
    if v4 { '4' } else { '6' }
}

/// `(v4, modulus)` of a spread chain's name; `None` for any other name.
pub(crate) fn parse_spread_chain(name: &str) -> Option<(bool, u32)> {
    parse_numbered(name, "spread")
}

/// `(v4, slot)` of a slot map's name; `None` for any other name.
pub(crate) fn parse_slot_map(name: &str) -> Option<(bool, u32)> {
    parse_numbered(name, "slot")
}

/// `<prefix><4|6>_<n>`, with `n` written without leading zeros.
fn parse_numbered(name: &str, prefix: &str) -> Option<(bool, u32)> {
    let (family, digits) = name.strip_prefix(prefix)?.split_once('_')?;
    let v4 = match family {
        "4" => true,
        "6" => false,
        _ => return None,
    };
    if digits.is_empty()
        || (digits.len() > 1 && digits.starts_with('0'))
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((v4, digits.parse().ok()?))
}

/// The set counting connections to `vip`'s family.
pub(crate) fn counted_of(vip: IpAddr) -> &'static str {
    if vip.is_ipv4() { COUNTED4 } else { COUNTED6 }
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
