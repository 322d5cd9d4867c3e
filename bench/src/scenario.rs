//! The scenarios of `make bench`, in the order they run.

pub mod agent_memory;
mod failover;
pub mod lb_scale;
mod propagation;
pub mod sync;
mod tunnel;

use crate::record::Record;

pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn() -> anyhow::Result<Record>,
}

pub const ALL: &[Scenario] = &[
    Scenario {
        name: "sync",
        about: "100k / 1M endpoints from one cluster into a remote agent's view, against a two-etcd KVStoreMesh path",
        run: sync::run,
    },
    Scenario {
        name: "propagation",
        about: "10 clusters, 100k endpoints, churn in one: change-to-remote-view lag and the highest sustained rate, against the etcd path",
        run: propagation::run,
    },
    Scenario {
        name: "agent-memory",
        about: "a real node agent's RSS per remote endpoint (100k, 1M) with 10k global services",
        run: agent_memory::run,
    },
    Scenario {
        name: "lb-scale",
        about: "10 / 1k / 10k global services: nft (the agent) against an iptables linear chain",
        run: lb_scale::run,
    },
    Scenario {
        name: "tunnel",
        about: "iperf3 pod to pod through the agent's WireGuard tunnel, against the same by hand and the raw veth",
        run: tunnel::run,
    },
    Scenario {
        name: "failover",
        about: "failover drills of each fault kind on the multicloud example: RTO, failed probes",
        run: failover::run,
    },
];

/// The scenarios named, in the order given; all of them when none is.
pub fn choose(names: &[String]) -> Result<Vec<&'static Scenario>, String> {
    if names.is_empty() {
        return Ok(ALL.iter().collect());
    }
    names
        .iter()
        .map(|name| {
            ALL.iter().find(|s| s.name == name).ok_or_else(|| {
                let known: Vec<&str> = ALL.iter().map(|s| s.name).collect();
                format!("no scenario {name:?}; known: {}", known.join(", "))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choosing_names_scenarios_or_all_and_refuses_unknown_ones() {
        assert_eq!(choose(&[]).map(|c| c.len()), Ok(ALL.len()));
        let one = choose(&["failover".into()]).expect("known");
        assert_eq!(one[0].name, "failover");
        let err = choose(&["fialover".into()]).err().expect("unknown");
        assert!(
            err.contains("\"fialover\"") && err.contains("failover"),
            "{err}"
        );
    }
}
