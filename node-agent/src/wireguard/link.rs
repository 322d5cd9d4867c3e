//! Link state of the WireGuard interface over rtnetlink: `wireguard-control` configures
//! keys and peers but has no call to bring a link up, and the userspace backend's
//! "delete" only removes socket files.

use rtnetlink::{Handle, LinkUnspec};

use super::WireGuardError;

/// `ENODEV`: there is no such link.
const ENODEV: i32 = 19;

fn connect(interface: &str) -> Result<Handle, WireGuardError> {
    let (connection, handle, _) = rtnetlink::new_connection()
        .map_err(|e| netlink("connecting to rtnetlink for", interface, e))?;
    // The connection task ends once the handle (the last sender) is dropped.
    tokio::spawn(connection);
    Ok(handle)
}

/// The tunnel's MTU: a 1500-byte underlay less WireGuard's 80 bytes over IPv6, the
/// default of the kernel's device, wireguard-go and wg-quick. boringtun-cli starts at
/// 1500, which would fragment every full-sized packet on the underlay.
pub const TUNNEL_MTU: u32 = 1420;

/// Sets `interface` up with [`TUNNEL_MTU`]. No address is assigned: routes are another
/// executor's job.
pub async fn set_up(interface: &str) -> Result<(), WireGuardError> {
    connect(interface)?
        .link()
        .set(
            LinkUnspec::new_with_name(interface)
                .up()
                .mtu(TUNNEL_MTU)
                .build(),
        )
        .execute()
        .await
        .map_err(|e| netlink("setting up", interface, e))
}

/// Deletes `interface`; a link that is already gone is fine.
pub async fn delete(interface: &str) -> Result<(), WireGuardError> {
    let result = connect(interface)?
        .link()
        .del_with_message(LinkUnspec::new_with_name(interface).build())
        .execute()
        .await;
    match result {
        Err(e) if !is_enodev(&e) => Err(netlink("deleting", interface, e)),
        _ => Ok(()),
    }
}

fn is_enodev(e: &rtnetlink::Error) -> bool {
    matches!(e, rtnetlink::Error::NetlinkError(m) if m.raw_code() == -ENODEV)
}

fn netlink(what: &'static str, interface: &str, e: impl std::fmt::Display) -> WireGuardError {
    WireGuardError::Netlink {
        what,
        interface: interface.to_owned(),
        reason: e.to_string(),
    }
}
