//! The table's fixed part: the maps and sets every service uses, and the base chains
//! that hook into the kernel (nat, filter and count, for prerouting and output).
//!
//! The filter and count chains see every packet, tunnel traffic included, so each
//! costs as few lookups as it can: on the two-cluster bench the table's per-packet
//! rules cost 8.6% of the tunnel's throughput before they were gated and merged, and
//! conntrack, which the nat chains turn on, another 6%. So the node's own WireGuard
//! UDP skips conntrack (the raw chains): nothing of ours translates it, and tracking a
//! tunnel's one flow costs a lookup per packet.

use super::{Tx, line};
use crate::nft::names::{
    COUNT_PRIORITY, COUNTED4, COUNTED6, EMPTY4, EMPTY6, MAP4, MAP6, PRIORITY, RAW_OUTPUT,
    RAW_PREROUTING, RAW_PRIORITY,
};

/// The chain that refuses connections to a frontend without backends.
const REJECT: &str = "reject_empty";

impl Tx<'_> {
    /// The table, its maps and sets, and the base chains. `add` of what exists is a
    /// no-op, and the swap of the base chains' rules is atomic.
    pub(super) fn base(&mut self) {
        let t = self.t.clone();
        self.line(format_args!("add table {t}"));
        let families = [
            ("ip", "ipv4_addr", MAP4, EMPTY4, COUNTED4),
            ("ip6", "ipv6_addr", MAP6, EMPTY6, COUNTED6),
        ];
        for (_, addr, map, empty, counted) in families {
            let key = format!("{addr} . inet_proto . inet_service");
            self.line(format_args!(
                "add map {t} {map} {{ type {key} : verdict; }}"
            ));
            self.line(format_args!("add set {t} {empty} {{ type {key}; }}"));
            self.line(format_args!(
                "add set {t} {counted} {{ type {addr} . inet_service . {addr} . inet_service; \
                 counter; }}"
            ));
        }
        // A reset makes connect() fail at once with ECONNREFUSED.
        // Added and flushed whether or not it exists, like the base chains, so the base
        // is the same text on any table.
        self.line(format_args!("add chain {t} {REJECT}"));
        self.model.chains.entry(REJECT.to_owned()).or_default();
        self.flush_chain(REJECT);
        self.other_rule(
            REJECT,
            format_args!("meta l4proto tcp reject with tcp reset"),
        );
        self.other_rule(REJECT, format_args!("reject with icmpx port-unreachable"));
        for hook in ["prerouting", "output"] {
            let chain = format!("nat_{hook}");
            self.base_chain(&chain, "nat", hook, PRIORITY);
            for (family, _, map, ..) in families {
                self.other_rule(
                    &chain,
                    format_args!("{family} daddr . meta l4proto . th dport vmap @{map}"),
                );
            }
            let chain = format!("filter_{hook}");
            self.base_chain(&chain, "filter", hook, PRIORITY);
            // Established connections too: a service that lost its last backend refuses
            // at once, rather than leave them to time out on a backend that is gone.
            for (family, _, _, empty, ..) in families {
                self.other_rule(
                    &chain,
                    format_args!("{family} daddr . meta l4proto . th dport @{empty} goto {REJECT}"),
                );
            }
            // Only a connection's first packet counts, so every other packet leaves at
            // the first rule. nft needs one protocol per rule to type the ports of the
            // conntrack key. Unconfirmed: a local connection to a local backend passes
            // prerouting again, confirmed.
            let chain = format!("count_{hook}");
            self.base_chain(&chain, "filter", hook, COUNT_PRIORITY);
            self.other_rule(&chain, format_args!("ct state != new accept"));
            for (family, .., counted) in families {
                for proto in ["tcp", "udp", "sctp"] {
                    self.other_rule(
                        &chain,
                        format_args!(
                            "meta l4proto {proto} ct status ! confirmed \
                             ct original {family} daddr . ct original proto-dst . \
                             ct reply {family} saddr . ct reply proto-src @{counted}"
                        ),
                    );
                }
            }
        }
        self.untracked_tunnel();
    }

    /// The WireGuard port's packets to and from this node, untracked. Only those to a
    /// local address: a VIP on the same UDP port is still tracked, so still translated.
    /// Without a port, chains left by an earlier configuration are emptied.
    fn untracked_tunnel(&mut self) {
        let Some(port) = self.untracked_udp_port else {
            for chain in [RAW_PREROUTING, RAW_OUTPUT] {
                if self.model.chains.contains_key(chain) {
                    self.flush_chain(chain);
                }
            }
            return;
        };
        self.base_chain(RAW_PREROUTING, "filter", "prerouting", RAW_PRIORITY);
        self.other_rule(
            RAW_PREROUTING,
            format_args!("udp dport {port} fib daddr type local notrack"),
        );
        // Locally generated with the port as its source: only the device binds it.
        self.base_chain(RAW_OUTPUT, "filter", "output", RAW_PRIORITY);
        self.other_rule(RAW_OUTPUT, format_args!("udp sport {port} notrack"));
    }

    fn base_chain(&mut self, chain: &str, kind: &str, hook: &str, priority: i32) {
        let t = &self.t;
        line(
            &mut self.out,
            format_args!(
                "add chain {t} {chain} {{ type {kind} hook {hook} priority {priority}; policy accept; }}"
            ),
        );
        self.model.chains.entry(chain.to_owned()).or_default();
        self.flush_chain(chain);
    }
}
