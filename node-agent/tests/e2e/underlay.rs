//! What crosses the underlay: nftables counters on a node's underlay interface, in a
//! table of the test's own, so the test can show that pod traffic leaves the node only
//! inside WireGuard's UDP.

use serde_json::Value;

use super::topology::in_ns;

const TABLE: &str = "cmtest_underlay";

/// Counters on `eth0` of `node_ns`: packets whose source or destination is a pod
/// address (`pod_cidrs`), TCP other than the control-plane `tcp_allowed` ports, and
/// WireGuard's UDP to or from `wg_port`.
pub fn install(node_ns: &str, pod_cidrs: &[String], tcp_allowed: &[u16], wg_port: &str) {
    let pods = pod_cidrs.join(", ");
    let ports = tcp_allowed
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rules = format!(
        "table inet {TABLE} {{
          counter pod_addressed {{}}
          counter other_tcp {{}}
          counter wireguard {{}}
          chain out {{
            type filter hook postrouting priority 300; policy accept;
            oifname \"eth0\" ip daddr {{ {pods} }} counter name pod_addressed
            oifname \"eth0\" ip saddr {{ {pods} }} counter name pod_addressed
            oifname \"eth0\" tcp dport != {{ {ports} }} tcp sport != {{ {ports} }} counter name other_tcp
            oifname \"eth0\" udp dport {wg_port} counter name wireguard
          }}
          chain in {{
            type filter hook prerouting priority -300; policy accept;
            iifname \"eth0\" ip daddr {{ {pods} }} counter name pod_addressed
            iifname \"eth0\" ip saddr {{ {pods} }} counter name pod_addressed
            iifname \"eth0\" tcp dport != {{ {ports} }} tcp sport != {{ {ports} }} counter name other_tcp
            iifname \"eth0\" udp sport {wg_port} counter name wireguard
          }}
        }}"
    );
    let file = std::env::temp_dir().join(format!("{node_ns}-{TABLE}.nft"));
    std::fs::write(&file, rules).expect("write the counter rules");
    in_ns(node_ns, &["nft", "-f", file.to_str().expect("UTF-8 path")]);
    let _ = std::fs::remove_file(file);
}

/// Packets counted so far: (pod-addressed, other TCP, WireGuard UDP).
pub fn read(node_ns: &str) -> (u64, u64, u64) {
    let out = in_ns(
        node_ns,
        &["nft", "-j", "list", "counters", "table", "inet", TABLE],
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("nft -j output");
    let packets = |name: &str| {
        json["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("counter"))
            .find(|c| c["name"] == name)
            .and_then(|c| c["packets"].as_u64())
            .unwrap_or_else(|| panic!("counter {name} missing in {json}"))
    };
    (
        packets("pod_addressed"),
        packets("other_tcp"),
        packets("wireguard"),
    )
}

pub fn remove(node_ns: &str) {
    in_ns(node_ns, &["nft", "delete", "table", "inet", TABLE]);
}
