//! The flows executor: forgets the conntrack entries that would keep sending a
//! frontend's connections to a backend it no longer has.
//!
//! A DNAT decision lives in the flow's conntrack entry. A client that reuses a source
//! port while the entry of an unanswered connection to a dead backend is still there
//! (`SYN_SENT` lasts two minutes, and each retransmission renews it) sends its new SYN
//! down the old translation: into the dead backend, long after the load balancer
//! dropped it. Deleting those entries once the rules no longer name the backend makes
//! the next packet of such a flow meet the rules afresh. Entries that saw a reply
//! belong to connections the backend accepted; TCP and SCTP ones are left to drain.
//! UDP has no connection to drain, so all of a removed backend's UDP entries go, as
//! kube-proxy does.

use std::collections::BTreeSet;

use async_trait::async_trait;
use clustermesh_proto::Protocol;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_NETFILTER};

use crate::exec::{ExecError, Flows, LostBackends};
use crate::plan::ServiceFrontend;

mod message;

use message::{AF_INET, AF_INET6, Entry, IPS_SEEN_REPLY, NLMSG_DONE, NLMSG_ERROR};

/// The kernel's conntrack table of the agent's network namespace, over ctnetlink.
#[derive(Debug, Default)]
pub struct Conntrack;

#[async_trait]
impl Flows for Conntrack {
    async fn forget(&self, lost: &LostBackends) -> Result<usize, ExecError> {
        let lost = lost.clone();
        tokio::task::spawn_blocking(move || forget_blocking(&lost))
            .await
            .map_err(|e| ExecError::new(WHAT, e))?
    }
}

const WHAT: &str = "forgetting the conntrack entries of lost backends";

/// Whether `entry` is a flow a frontend of `lost` translated to one of the backends it
/// lost, that the backend never accepted (or any UDP one).
pub fn is_stale(entry: &Entry, lost: &LostBackends) -> bool {
    let Some(protocol) = protocol_of(entry.original.protocol) else {
        return false;
    };
    let frontend = ServiceFrontend {
        vip: entry.original.dst.ip(),
        port: entry.original.dst.port(),
        protocol,
    };
    lost.get(&frontend).is_some_and(|backends| {
        backends.contains(&entry.reply.src)
            && (protocol == Protocol::Udp || entry.status & IPS_SEEN_REPLY == 0)
    })
}

const fn protocol_of(number: u8) -> Option<Protocol> {
    match number {
        6 => Some(Protocol::Tcp),
        17 => Some(Protocol::Udp),
        132 => Some(Protocol::Sctp),
        _ => None,
    }
}

/// One dump per address family, whatever the number of frontends, then one delete per
/// stale entry.
fn forget_blocking(lost: &LostBackends) -> Result<usize, ExecError> {
    let err = |e: std::io::Error| ExecError::new(WHAT, e);
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(err)?;
    socket.bind_auto().map_err(err)?;
    // A large table dumps faster than one read a time drains it.
    socket.set_rx_buf_sz(1usize << 20).map_err(err)?;
    socket.connect(&NetlinkAddr::new(0, 0)).map_err(err)?;
    let families: BTreeSet<u8> = lost
        .keys()
        .map(|f| if f.vip.is_ipv4() { AF_INET } else { AF_INET6 })
        .collect();
    // One receive buffer for the whole conversation: a datagram is at most this big.
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut stale = Vec::new();
    for (family, seq) in families.into_iter().zip(1..) {
        socket
            .send(&message::dump_request(seq, family), 0)
            .map_err(err)?;
        exchange(&socket, &mut buf, seq, |payload| {
            if let Some(entry) = message::parse_entry(payload)
                && is_stale(&entry, lost)
            {
                stale.push(entry);
            }
        })
        .map_err(|reason| ExecError::new(WHAT, reason))?;
    }
    let mut forgotten = 0;
    for (entry, seq) in stale.iter().zip(3..) {
        socket
            .send(&message::delete_request(seq, entry), 0)
            .map_err(err)?;
        match exchange(&socket, &mut buf, seq, |_| {}) {
            Ok(()) => forgotten += 1,
            // Gone meanwhile (timed out, or the flow ended): nothing to forget.
            Err(Errno(ENOENT)) => {}
            Err(reason) => return Err(ExecError::new(WHAT, reason)),
        }
    }
    Ok(forgotten)
}

const ENOENT: i32 = 2;
const EIO: i32 = 5;

#[derive(Debug, PartialEq)]
struct Errno(i32);

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

/// Reads the answers to request `seq` until its acknowledgement or the end of its
/// dump, handing each entry's payload to `each`.
fn exchange(
    socket: &Socket,
    buf: &mut Vec<u8>,
    seq: u32,
    mut each: impl FnMut(&[u8]),
) -> Result<(), Errno> {
    loop {
        buf.clear();
        socket
            .recv(buf, 0)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(EIO)))?;
        for m in message::messages(buf).into_iter().filter(|m| m.seq == seq) {
            match m.kind {
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    return match message::error_code(m.payload) {
                        Some(0) => Ok(()),
                        Some(code) => Err(Errno(code)),
                        None => Err(Errno(EIO)),
                    };
                }
                _ => each(m.payload),
            }
        }
    }
}

#[cfg(test)]
mod tests;
