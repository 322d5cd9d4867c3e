//! ctnetlink messages, byte for byte: the dump request, the entries a dump answers with
//! (only the fields the agent needs), and the delete of one entry. Integers inside
//! netfilter attributes are big-endian; netlink's own headers are host order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
const HEADER: usize = 16;
const NFGENMSG: usize = 4;

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_ID: u16 = 12;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;

/// The conntrack status bit set once the other side answered.
pub const IPS_SEEN_REPLY: u32 = 1 << 1;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// One direction of a tracked flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// IP protocol number (6 TCP, 17 UDP, 132 SCTP).
    pub protocol: u8,
    pub src: SocketAddr,
    pub dst: SocketAddr,
}

/// A conntrack entry: the original direction, the reply direction (whose source is
/// the backend a DNAT chose), its status bits, and what identifies it for a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub original: Tuple,
    pub reply: Tuple,
    pub status: u32,
    pub id: Option<u32>,
    pub zone: Option<u16>,
}

/// One netlink message out of a received datagram.
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

/// Dumps every entry of one address family.
pub fn dump_request(seq: u32, family: u8) -> Vec<u8> {
    request(
        IPCTNL_MSG_CT_GET,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        family,
        &[],
    )
}

/// Deletes `entry`, and only it: the kernel refuses when the id no longer matches, so a
/// new flow that took the same tuple meanwhile is left alone.
pub fn delete_request(seq: u32, entry: &Entry) -> Vec<u8> {
    let family = match entry.original.src.ip() {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    };
    let mut attrs = Vec::new();
    nested(&mut attrs, CTA_TUPLE_ORIG, &tuple(&entry.original));
    if let Some(id) = entry.id {
        attr(&mut attrs, CTA_ID, &id.to_be_bytes());
    }
    if let Some(zone) = entry.zone {
        attr(&mut attrs, CTA_ZONE, &zone.to_be_bytes());
    }
    request(
        IPCTNL_MSG_CT_DELETE,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        family,
        &attrs,
    )
}

/// The messages of one datagram; stops at the first malformed header.
pub fn messages(mut buf: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    while buf.len() >= HEADER {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < HEADER || len > buf.len() {
            break;
        }
        out.push(Message {
            kind: u16::from_ne_bytes([buf[4], buf[5]]),
            seq: u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]),
            payload: &buf[HEADER..len],
        });
        buf = &buf[align(len).min(buf.len())..];
    }
    out
}

/// The errno of an `NLMSG_ERROR` message (0 is an acknowledgement).
pub fn error_code(payload: &[u8]) -> Option<i32> {
    let code = payload.get(..4)?;
    Some(-i32::from_ne_bytes([code[0], code[1], code[2], code[3]]))
}

/// A dumped entry; `None` for one the agent cannot use (no ports, unknown family).
pub fn parse_entry(payload: &[u8]) -> Option<Entry> {
    let attrs = payload.get(NFGENMSG..)?;
    let (mut original, mut reply, mut status, mut id, mut zone) = (None, None, None, None, None);
    for (kind, value) in attributes(attrs) {
        match kind {
            CTA_TUPLE_ORIG => original = parse_tuple(value),
            CTA_TUPLE_REPLY => reply = parse_tuple(value),
            CTA_STATUS => status = be_u32(value),
            CTA_ID => id = be_u32(value),
            CTA_ZONE => zone = be_u16(value),
            _ => {}
        }
    }
    Some(Entry {
        original: original?,
        reply: reply?,
        // Without its status an entry's answered-or-not is unknown: not used.
        status: status?,
        id,
        zone,
    })
}

fn parse_tuple(value: &[u8]) -> Option<Tuple> {
    let (mut src, mut dst, mut protocol, mut sport, mut dport) = (None, None, None, None, None);
    for (kind, value) in attributes(value) {
        match kind {
            CTA_TUPLE_IP => {
                for (kind, value) in attributes(value) {
                    match kind {
                        CTA_IP_V4_SRC => src = v4(value),
                        CTA_IP_V4_DST => dst = v4(value),
                        CTA_IP_V6_SRC => src = v6(value),
                        CTA_IP_V6_DST => dst = v6(value),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for (kind, value) in attributes(value) {
                    match kind {
                        CTA_PROTO_NUM => protocol = value.first().copied(),
                        CTA_PROTO_SRC_PORT => sport = be_u16(value),
                        CTA_PROTO_DST_PORT => dport = be_u16(value),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Some(Tuple {
        protocol: protocol?,
        src: SocketAddr::new(src?, sport?),
        dst: SocketAddr::new(dst?, dport?),
    })
}

fn tuple(t: &Tuple) -> Vec<u8> {
    let mut ip = Vec::new();
    match (t.src.ip(), t.dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            attr(&mut ip, CTA_IP_V4_SRC, &s.octets());
            attr(&mut ip, CTA_IP_V4_DST, &d.octets());
        }
        (s, d) => {
            attr(&mut ip, CTA_IP_V6_SRC, &v6_octets(s));
            attr(&mut ip, CTA_IP_V6_DST, &v6_octets(d));
        }
    }
    let mut proto = Vec::new();
    attr(&mut proto, CTA_PROTO_NUM, &[t.protocol]);
    attr(&mut proto, CTA_PROTO_SRC_PORT, &t.src.port().to_be_bytes());
    attr(&mut proto, CTA_PROTO_DST_PORT, &t.dst.port().to_be_bytes());
    let mut out = Vec::new();
    nested(&mut out, CTA_TUPLE_IP, &ip);
    nested(&mut out, CTA_TUPLE_PROTO, &proto);
    out
}

fn v6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn request(message: u16, flags: u16, seq: u32, family: u8, attrs: &[u8]) -> Vec<u8> {
    let len = HEADER + NFGENMSG + attrs.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&((NFNL_SUBSYS_CTNETLINK << 8) | message).to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    // nfgenmsg: family, NFNETLINK_V0, resource id 0.
    out.extend_from_slice(&[family, 0, 0, 0]);
    out.extend_from_slice(attrs);
    out
}

fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + align(len) - len, 0);
}

fn nested(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    attr(out, kind | NLA_F_NESTED, value);
}

/// `(type, value)` of each attribute; stops at the first malformed one.
fn attributes(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        if len < 4 || len > buf.len() {
            break;
        }
        let kind = u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK;
        out.push((kind, &buf[4..len]));
        buf = &buf[align(len).min(buf.len())..];
    }
    out
}

const fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn be_u16(value: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(value.get(..2)?.try_into().ok()?))
}

fn be_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(value.get(..4)?.try_into().ok()?))
}

fn v4(value: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 4] = value.get(..4)?.try_into().ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(octets)))
}

fn v6(value: &[u8]) -> Option<IpAddr> {
    let octets: [u8; 16] = value.get(..16)?.try_into().ok()?;
    Some(IpAddr::V6(Ipv6Addr::from(octets)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: u32) -> Entry {
        Entry {
            original: Tuple {
                protocol: 6,
                src: "10.3.2.20:45908".parse().expect("address"),
                dst: "10.96.0.10:80".parse().expect("address"),
            },
            reply: Tuple {
                protocol: 6,
                src: "10.1.2.10:8080".parse().expect("address"),
                dst: "10.3.2.20:45908".parse().expect("address"),
            },
            status,
            id: Some(0xdead_beef),
            zone: None,
        }
    }

    /// What a dump answers with, as the kernel lays it out.
    fn dumped(e: &Entry) -> Vec<u8> {
        let mut attrs = Vec::new();
        nested(&mut attrs, CTA_TUPLE_ORIG, &tuple(&e.original));
        nested(&mut attrs, CTA_TUPLE_REPLY, &tuple(&e.reply));
        attr(&mut attrs, CTA_STATUS, &e.status.to_be_bytes());
        attr(&mut attrs, CTA_ID, &e.id.expect("an id").to_be_bytes());
        request(0, 2, 7, AF_INET, &attrs)
    }

    #[test]
    fn a_dumped_entry_parses_back_to_its_tuples_status_and_id() {
        let e = entry(IPS_SEEN_REPLY | 1 << 3);
        let mut datagram = dumped(&e);
        datagram.extend(dumped(&entry(0)));
        let got = messages(&datagram);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].seq, 7);
        assert_eq!(parse_entry(got[0].payload), Some(e));
        assert_eq!(parse_entry(got[1].payload), Some(entry(0)));
    }

    #[test]
    fn a_delete_names_the_original_tuple_and_the_id() {
        let e = entry(0);
        let request = delete_request(9, &e);
        let got = messages(&request);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].kind,
            (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE
        );
        let attrs = attributes(&got[0].payload[NFGENMSG..]);
        assert_eq!(attrs[0].0, CTA_TUPLE_ORIG);
        assert_eq!(parse_tuple(attrs[0].1), Some(e.original));
        assert_eq!(attrs[1], (CTA_ID, &0xdead_beef_u32.to_be_bytes()[..]));
    }

    #[test]
    fn truncated_or_garbled_input_yields_nothing_and_never_panics() {
        let full = dumped(&entry(0));
        for cut in 0..full.len() {
            assert!(messages(&full[..cut]).is_empty(), "cut at {cut}");
            // A payload cut before its status is never taken for an unanswered entry.
            if let Some(e) = parse_entry(&full[HEADER..cut.max(HEADER)]) {
                assert_eq!((e.original, e.reply), (entry(0).original, entry(0).reply));
            }
        }
        let mut garbled = full.clone();
        garbled[HEADER + NFGENMSG] = 0xff;
        assert_eq!(messages(&garbled).len(), 1);
        assert_eq!(parse_entry(messages(&garbled)[0].payload), None);
        assert_eq!(error_code(&[]), None);
        assert_eq!(error_code(&(-2i32).to_ne_bytes()), Some(2));
    }
}
