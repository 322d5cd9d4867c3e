//! The changes that turn the observed dataplane into the desired one.
//!
//! Order, and why:
//! 1. Peer adds and updates first: a route into the tunnel is useless until a peer
//!    accepts its addresses, and a rotated key's new peer takes over the allowed IPs
//!    before the old peer goes.
//! 2. Route adds next, now that their peers exist.
//! 3. Route removals before peer removals: traffic stops entering the tunnel before the
//!    peer that would carry it disappears.
//! 4. Peer removals (including the old key of a rotation).
//! 5. Services: their backends are reachable through the tunnels above by then, and
//!    frontends are set before stale ones are removed.
//! 6. Forgetting the flows of backends a frontend lost, once no rule sends new ones
//!    there: otherwise a client that reuses a source port follows the old translation.
//!
//! Within each group, changes are in key order. Metadata the devices cannot hold
//! (cluster and node names, the service name) is not compared; see `ObservedState`.

use std::net::SocketAddr;

use super::{Change, DesiredState, ObservedState, ServiceBackends};

/// Lists the changes from `observed` to `desired`; empty when they match.
pub fn plan(desired: &DesiredState, observed: &ObservedState) -> Vec<Change> {
    let mut changes = Vec::new();

    for (key, spec) in &desired.peers {
        match observed.peers.get(key) {
            None => changes.push(Change::AddPeer(*key, spec.clone())),
            Some(have) if !spec.same_programming(have) => {
                changes.push(Change::UpdatePeer(*key, spec.clone()));
            }
            Some(_) => {}
        }
    }
    changes.extend(
        desired
            .routes
            .difference(&observed.routes)
            .map(|cidr| Change::AddRoute(*cidr)),
    );
    changes.extend(
        observed
            .routes
            .difference(&desired.routes)
            .map(|cidr| Change::RemoveRoute(*cidr)),
    );
    changes.extend(
        observed
            .peers
            .keys()
            .filter(|key| !desired.peers.contains_key(*key))
            .map(|key| Change::RemovePeer(*key)),
    );

    for (frontend, backends) in &desired.services {
        let matches = observed
            .services
            .get(frontend)
            .is_some_and(|have| have.same_programming(backends));
        if !matches {
            changes.push(Change::SetService(*frontend, backends.clone()));
        }
    }
    changes.extend(
        observed
            .services
            .keys()
            .filter(|frontend| !desired.services.contains_key(*frontend))
            .map(|frontend| Change::RemoveService(*frontend)),
    );
    for (frontend, had) in &observed.services {
        let keeps = desired
            .services
            .get(frontend)
            .map(ServiceBackends::targets)
            .unwrap_or_default();
        let mut lost: Vec<SocketAddr> = had
            .targets()
            .into_iter()
            .filter(|t| keeps.binary_search(t).is_err())
            .collect();
        lost.dedup();
        if !lost.is_empty() {
            changes.push(Change::ForgetFlows(*frontend, lost));
        }
    }
    changes
}

#[cfg(test)]
mod tests;
