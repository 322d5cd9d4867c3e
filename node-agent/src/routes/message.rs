//! Netlink route messages: building the ones we send, reading the ones the kernel dumps,
//! and turning netlink errors into reasons an operator can act on.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use clustermesh_proto::Cidr;
use ipnet::IpNet;
use rtnetlink::{
    Error as NetlinkError, RouteMessageBuilder,
    packet_route::{
        AddressFamily,
        route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType},
    },
};

use super::ROUTE_PROTOCOL;

/// `RT_TABLE_MAIN`: the agent's routes live in the main table, next to the CNI's.
pub(super) const MAIN_TABLE: u32 = 254;

/// Linux errno values the executor reacts to. `rtnetlink` hands them back as raw
/// numbers, and `libc` is not a dependency for five constants.
pub(super) const EPERM: i32 = 1;
pub(super) const ESRCH: i32 = 3;
pub(super) const EACCES: i32 = 13;
pub(super) const EEXIST: i32 = 17;
pub(super) const ENODEV: i32 = 19;

/// The route to `cidr` with our protocol in `table`, via interface `oif` when given.
/// With the protocol set, a delete built from it removes only ours: the kernel skips
/// routes of another protocol when a delete names one.
pub(super) fn build(cidr: &Cidr, oif: Option<u32>, table: u32) -> RouteMessage {
    let protocol = RouteProtocol::from(ROUTE_PROTOCOL);
    let mut message = match cidr.net() {
        IpNet::V4(net) => RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(net.network(), net.prefix_len())
            .protocol(protocol)
            .table_id(table)
            .build(),
        IpNet::V6(net) => RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(net.network(), net.prefix_len())
            .protocol(protocol)
            .table_id(table)
            .build(),
    };
    if let Some(index) = oif {
        message.attributes.push(RouteAttribute::Oif(index));
    }
    message
}

/// The delete for our route to `cidr`: like [`build`], but any scope and type match,
/// as with `ip route del`, since routes of ours added by hand (`ip route add ... proto
/// 149`) get scope link.
pub(super) fn build_delete(cidr: &Cidr, oif: Option<u32>, table: u32) -> RouteMessage {
    let mut message = build(cidr, oif, table);
    message.header.scope = RouteScope::NoWhere;
    message.header.kind = RouteType::Unspec;
    message
}

/// An empty message of one family: a dump request for all of its routes. The kernel
/// ignores every other field of a dump unless strict checking is on, so filtering
/// happens here, in [`Seen::from_message`].
pub(super) fn dump_request(family: AddressFamily) -> RouteMessage {
    let mut message = RouteMessage::default();
    message.header.address_family = family;
    message
}

/// One route the kernel reported, reduced to what ownership and placement need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Seen {
    pub cidr: Cidr,
    pub protocol: u8,
    pub oif: Option<u32>,
    pub table: u32,
}

impl Seen {
    /// `None` for routes that cannot be ours anyway (multicast families, malformed
    /// prefixes): skipping them keeps one odd route from failing every observe.
    pub fn from_message(message: &RouteMessage) -> Option<Self> {
        let header = &message.header;
        let mut destination = None;
        let mut oif = None;
        let mut table = u32::from(header.table);
        for attribute in &message.attributes {
            match attribute {
                RouteAttribute::Destination(RouteAddress::Inet(ip)) => {
                    destination = Some(IpAddr::V4(*ip))
                }
                RouteAttribute::Destination(RouteAddress::Inet6(ip)) => {
                    destination = Some(IpAddr::V6(*ip))
                }
                RouteAttribute::Oif(index) => oif = Some(*index),
                // Tables above 255 only fit in the attribute, which then wins.
                RouteAttribute::Table(id) => table = *id,
                _ => {}
            }
        }
        // A default route carries no destination attribute.
        let destination = match (destination, header.address_family) {
            (Some(ip), _) => ip,
            (None, AddressFamily::Inet) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            (None, AddressFamily::Inet6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            (None, _) => return None,
        };
        let net = IpNet::new(destination, header.destination_prefix_length).ok()?;
        Some(Self {
            cidr: Cidr::new(net).ok()?,
            protocol: u8::from(header.protocol),
            oif,
            table,
        })
    }

    pub fn is_ours(&self) -> bool {
        self.protocol == ROUTE_PROTOCOL
    }
}

/// The errno of a netlink error reply, positive as in `errno.h`.
pub(super) fn errno(error: &NetlinkError) -> Option<i32> {
    match error {
        NetlinkError::NetlinkError(message) => message.code.map(|code| -code.get()),
        _ => None,
    }
}

/// Why a request failed, naming the missing capability when that is the cause.
pub(super) fn reason(error: &NetlinkError) -> String {
    match (errno(error), error) {
        (Some(EPERM | EACCES), _) => {
            "permission denied: changing routes needs CAP_NET_ADMIN (run as root)".to_owned()
        }
        (_, NetlinkError::NetlinkError(message)) => message.to_io().to_string(),
        (_, other) => other.to_string(),
    }
}
