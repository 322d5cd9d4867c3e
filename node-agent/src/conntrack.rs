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

use std::net::SocketAddr;

use async_trait::async_trait;
use clustermesh_proto::Protocol;
use netlink_sys::{Socket, SocketAddr as NetlinkAddr, protocols::NETLINK_NETFILTER};

use crate::exec::{ExecError, Flows};
use crate::plan::ServiceFrontend;

mod message;

use message::{AF_INET, AF_INET6, Entry, IPS_SEEN_REPLY, NLMSG_DONE, NLMSG_ERROR};

/// The kernel's conntrack table of the agent's network namespace, over ctnetlink.
#[derive(Debug, Default)]
pub struct Conntrack;

#[async_trait]
impl Flows for Conntrack {
    async fn forget(
        &self,
        frontend: &ServiceFrontend,
        backends: &[SocketAddr],
    ) -> Result<usize, ExecError> {
        let (frontend, backends) = (*frontend, backends.to_vec());
        tokio::task::spawn_blocking(move || forget_blocking(&frontend, &backends))
            .await
            .map_err(|e| ExecError::new("forgetting conntrack entries", e))?
    }
}

/// Whether `entry` is a flow `frontend` translated to one of `backends` that the
/// backend never accepted (or any UDP one).
pub fn is_stale(entry: &Entry, frontend: &ServiceFrontend, backends: &[SocketAddr]) -> bool {
    entry.original.protocol == protocol_number(frontend.protocol)
        && entry.original.dst == SocketAddr::new(frontend.vip, frontend.port)
        && backends.contains(&entry.reply.src)
        && (frontend.protocol == Protocol::Udp || entry.status & IPS_SEEN_REPLY == 0)
}

const fn protocol_number(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

fn forget_blocking(
    frontend: &ServiceFrontend,
    backends: &[SocketAddr],
) -> Result<usize, ExecError> {
    let what = || {
        format!(
            "forgetting conntrack entries of {}:{}",
            frontend.vip, frontend.port
        )
    };
    let err = |e: std::io::Error| ExecError::new(what(), e);
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(err)?;
    socket.bind_auto().map_err(err)?;
    // A large table dumps faster than one read a time drains it.
    socket.set_rx_buf_sz(1usize << 20).map_err(err)?;
    socket.connect(&NetlinkAddr::new(0, 0)).map_err(err)?;
    let family = if frontend.vip.is_ipv4() {
        AF_INET
    } else {
        AF_INET6
    };
    socket
        .send(&message::dump_request(1, family), 0)
        .map_err(err)?;
    let mut stale = Vec::new();
    exchange(&socket, 1, |payload| {
        if let Some(entry) = message::parse_entry(payload)
            && is_stale(&entry, frontend, backends)
        {
            stale.push(entry);
        }
    })
    .map_err(|reason| ExecError::new(what(), reason))?;
    let mut forgotten = 0;
    for (entry, seq) in stale.iter().zip(2..) {
        socket
            .send(&message::delete_request(seq, entry), 0)
            .map_err(err)?;
        match exchange(&socket, seq, |_| {}) {
            Ok(()) => forgotten += 1,
            // Gone meanwhile (timed out, or the flow ended): nothing to forget.
            Err(Errno(ENOENT)) => {}
            Err(reason) => return Err(ExecError::new(what(), reason)),
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
fn exchange(socket: &Socket, seq: u32, mut each: impl FnMut(&[u8])) -> Result<(), Errno> {
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        socket
            .recv(&mut buf, 0)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(EIO)))?;
        for m in message::messages(&buf).into_iter().filter(|m| m.seq == seq) {
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
