//! One cluster's endpoints by IP, IPv4 and IPv6 apart: a B-tree slot keyed by an
//! `IpAddr` takes 17 bytes for the key, one keyed by an `Ipv4Addr` four. Iteration
//! gives IPv4 first, then IPv6, which is `IpAddr`'s own order.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

#[derive(Debug)]
pub(super) struct Addresses<V> {
    v4: BTreeMap<Ipv4Addr, V>,
    v6: BTreeMap<Ipv6Addr, V>,
}

impl<V> Default for Addresses<V> {
    fn default() -> Self {
        Self {
            v4: BTreeMap::new(),
            v6: BTreeMap::new(),
        }
    }
}

impl<V> Addresses<V> {
    pub(super) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub(super) fn get_mut(&mut self, ip: IpAddr) -> Option<&mut V> {
        match ip {
            IpAddr::V4(ip) => self.v4.get_mut(&ip),
            IpAddr::V6(ip) => self.v6.get_mut(&ip),
        }
    }

    pub(super) fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(ip) => self.v4.contains_key(&ip),
            IpAddr::V6(ip) => self.v6.contains_key(&ip),
        }
    }

    /// The value that was at `ip`, if any.
    pub(super) fn insert(&mut self, ip: IpAddr, value: V) -> Option<V> {
        match ip {
            IpAddr::V4(ip) => self.v4.insert(ip, value),
            IpAddr::V6(ip) => self.v6.insert(ip, value),
        }
    }

    pub(super) fn remove(&mut self, ip: IpAddr) -> Option<V> {
        match ip {
            IpAddr::V4(ip) => self.v4.remove(&ip),
            IpAddr::V6(ip) => self.v6.remove(&ip),
        }
    }

    pub(super) fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.v4.retain(|_, value| keep(value));
        self.v6.retain(|_, value| keep(value));
    }

    /// By IP: every IPv4 address, then every IPv6 one.
    pub(super) fn iter(&self) -> impl Iterator<Item = (IpAddr, &V)> {
        let v4 = self.v4.iter().map(|(ip, v)| (IpAddr::V4(*ip), v));
        let v6 = self.v6.iter().map(|(ip, v)| (IpAddr::V6(*ip), v));
        v4.chain(v6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_is_in_ip_addr_order_across_families() {
        let ips: Vec<IpAddr> = ["fd00::2", "10.0.0.9", "fd00::1", "10.0.0.10", "9.9.9.9"]
            .iter()
            .map(|ip| ip.parse().expect("ip"))
            .collect();
        let mut addresses = Addresses::default();
        for (n, ip) in ips.iter().enumerate() {
            assert_eq!(addresses.insert(*ip, n), None);
        }
        let mut sorted = ips.clone();
        sorted.sort();
        let held: Vec<IpAddr> = addresses.iter().map(|(ip, _)| ip).collect();
        assert_eq!(held, sorted);
        assert_eq!(addresses.insert(ips[0], 7), Some(0));
        assert_eq!(addresses.remove(ips[1]), Some(1));
        assert!(!addresses.contains(ips[1]) && addresses.contains(ips[0]));
        addresses.retain(|n| *n != 7);
        assert_eq!(addresses.len(), 3);
        assert!(!addresses.is_empty());
    }
}
