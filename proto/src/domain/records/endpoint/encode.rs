//! An endpoint encoded straight from borrowed, already validated parts. An exporter
//! holds a million endpoints whose parts (cluster, node, namespace) are shared between
//! pods; building an owned `Endpoint` and its wire struct for each one, only to encode
//! it, cost several allocations per endpoint.

use std::fmt::Write as _;
use std::net::IpAddr;

use bytes::{BufMut, Bytes, BytesMut};
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::Endpoint;
use crate::{ClusterName, DnsLabel, DnsSubdomain, IdentityId};

/// `Record.endpoint`'s field number (records.proto).
const RECORD_ENDPOINT: u32 = 4;

/// The parts of an [`Endpoint`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointParts<'a> {
    pub cluster: &'a ClusterName,
    pub ip: IpAddr,
    pub identity: IdentityId,
    pub node: &'a DnsSubdomain,
    pub namespace: &'a DnsLabel,
    pub pod: &'a DnsSubdomain,
}

impl EndpointParts<'_> {
    pub fn to_endpoint(&self) -> Endpoint {
        Endpoint {
            cluster: self.cluster.clone(),
            ip: self.ip,
            identity: self.identity,
            node: self.node.clone(),
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
        }
    }

    /// The encoded `Record` holding this endpoint: the same bytes as
    /// `Record::Endpoint(self.to_endpoint()).encode()`.
    pub fn encode_record(&self) -> Bytes {
        let mut ip = IpText::default();
        // Writing an address into 40 bytes cannot fail: IPv6 text is at most 39.
        let _ = write!(ip, "{}", self.ip);
        let ip = ip.as_str();
        let identity = self.identity.get();
        // Fields in number order, proto3 defaults (empty, zero) left out, as prost does.
        let strings = [
            (1, self.cluster.as_str()),
            (2, ip),
            (4, self.node.as_str()),
            (5, self.namespace.as_str()),
            (6, self.pod.as_str()),
        ];
        let inner: usize = strings
            .iter()
            .map(|(tag, s)| string_len(*tag, s))
            .sum::<usize>()
            + match identity {
                0 => 0,
                id => key_len(3) + encoded_len_varint(u64::from(id)),
            };
        let total = key_len(RECORD_ENDPOINT) + encoded_len_varint(inner as u64) + inner;
        let mut buf = BytesMut::with_capacity(total);
        encode_key(RECORD_ENDPOINT, WireType::LengthDelimited, &mut buf);
        encode_varint(inner as u64, &mut buf);
        for (tag, s) in &strings[..2] {
            put_string(*tag, s, &mut buf);
        }
        if identity != 0 {
            encode_key(3, WireType::Varint, &mut buf);
            encode_varint(u64::from(identity), &mut buf);
        }
        for (tag, s) in &strings[2..] {
            put_string(*tag, s, &mut buf);
        }
        buf.freeze()
    }
}

fn string_len(tag: u32, s: &str) -> usize {
    match s.len() {
        0 => 0,
        n => key_len(tag) + encoded_len_varint(n as u64) + n,
    }
}

fn put_string(tag: u32, s: &str, buf: &mut impl BufMut) {
    if !s.is_empty() {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(s.len() as u64, buf);
        buf.put_slice(s.as_bytes());
    }
}

/// An IP address as text, on the stack.
struct IpText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for IpText {
    fn default() -> Self {
        Self {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl IpText {
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever written in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Record;

    #[test]
    fn encodes_the_bytes_a_record_encodes_to() {
        let cluster = ClusterName::new("aws-east").expect("valid");
        let node = DnsSubdomain::new("node-7.example").expect("valid");
        let namespace = DnsLabel::new("prod").expect("valid");
        let pod = DnsSubdomain::new("web-6d4cf56db6-x2x9z").expect("valid");
        for (ip, identity) in [
            ("10.1.0.7", 1 << 16 | 1),
            ("255.255.255.255", 255 << 16 | 65535),
            ("fd00:1::7", 3 << 16 | 300),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 7 << 16 | 2),
        ] {
            let parts = EndpointParts {
                cluster: &cluster,
                ip: ip.parse().expect("ip"),
                identity: IdentityId::try_from(identity).expect("id"),
                node: &node,
                namespace: &namespace,
                pod: &pod,
            };
            let generic = Record::Endpoint(parts.to_endpoint()).encode();
            assert_eq!(parts.encode_record(), generic, "{ip}");
            assert_eq!(
                Record::decode(&parts.encode_record()).expect("decodes"),
                Record::Endpoint(parts.to_endpoint())
            );
        }
    }
}
