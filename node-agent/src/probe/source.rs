//! The source address of node-originated probes. A process on the node connects to a
//! VIP with the node's own (underlay) address as source; once DNATed to a remote
//! backend, that packet goes into the tunnel with a source the remote peer's WireGuard
//! does not accept (its allowed IPs are this node's pod CIDRs). Probes therefore bind
//! to an address this node holds inside its own pod CIDRs (a CNI's gateway address), so
//! they take the path a pod's connection takes.

use std::net::IpAddr;

use clustermesh_proto::Cidr;
use futures::TryStreamExt as _;
use rtnetlink::packet_route::address::AddressAttribute;

/// The first local address inside `cidrs`; `None` when there is none (or rtnetlink
/// cannot be read), and probes then use the kernel's choice.
pub async fn inside(cidrs: &[Cidr]) -> Option<IpAddr> {
    if cidrs.is_empty() {
        return None;
    }
    let (connection, handle, _) = rtnetlink::new_connection().ok()?;
    // The connection task ends once the handle (its last sender) is dropped.
    tokio::spawn(connection);
    let mut addresses = handle.address().get().execute();
    while let Ok(Some(message)) = addresses.try_next().await {
        for attribute in message.attributes {
            if let AddressAttribute::Local(ip) | AddressAttribute::Address(ip) = attribute
                && cidrs.iter().any(|c| c.net().contains(&ip))
            {
                return Some(ip);
            }
        }
    }
    None
}
