//! `--store` and the raft flags.

use std::{collections::BTreeSet, net::SocketAddr};

use clustermesh_proto::HostPort;

use super::{ConfigError, RunArgs};
use crate::store::raft::NodeId;

/// Which store backend to run, with what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// In memory: for tests and demos only, nothing survives a restart.
    Memory,
    /// The embedded raft store, in the data directory's `store/`.
    Raft {
        node_id: NodeId,
        /// The replication service's address. With `peers` it is always set, to
        /// this node's own entry there: the raft store binds the address its peers
        /// dial. `None` only for a single replica started without `--raft-listen`,
        /// which has nobody to replicate to.
        listen: Option<SocketAddr>,
        /// Every replica, this one included, ordered by id; empty for a single
        /// replica.
        peers: Vec<RaftPeer>,
    },
    /// An external etcd cluster; client URLs like `http://10.0.0.1:2379`.
    Etcd { endpoints: Vec<String> },
}

/// One member of the raft replica set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RaftPeer {
    pub id: NodeId,
    pub addr: SocketAddr,
}

/// Raft node ids start at 1; the raft store refuses 0.
const DEFAULT_NODE_ID: NodeId = 1;

pub(super) fn parse(args: &RunArgs) -> Result<StoreSpec, ConfigError> {
    if args.store == "raft" {
        return raft(args);
    }
    // The raft flags would be silently ignored otherwise.
    let raft_flags = [
        ("--raft-listen", args.raft_listen.is_some()),
        ("--raft-node-id", args.raft_node_id.is_some()),
        ("--raft-peers", args.raft_peers.is_some()),
    ];
    if let Some((flag, _)) = raft_flags.iter().find(|(_, set)| *set) {
        return Err(ConfigError::flag(
            flag,
            format!("only applies to --store raft, not {:?}", args.store),
        ));
    }
    if args.store == "memory" {
        return Ok(StoreSpec::Memory);
    }
    match args.store.strip_prefix("etcd://") {
        Some(list) => etcd(list),
        None => Err(ConfigError::flag(
            "--store",
            format!(
                "{:?} is not raft, memory or etcd://HOST:PORT,HOST:PORT",
                args.store
            ),
        )),
    }
}

fn etcd(list: &str) -> Result<StoreSpec, ConfigError> {
    let mut endpoints = Vec::new();
    for entry in list.split(',').map(str::trim) {
        let addr: HostPort = entry
            .parse()
            .map_err(|e| ConfigError::flag("--store", format!("etcd endpoint {entry:?}: {e}")))?;
        let url = format!("http://{addr}");
        if endpoints.contains(&url) {
            return Err(ConfigError::flag(
                "--store",
                format!("etcd endpoint {addr} is listed twice"),
            ));
        }
        endpoints.push(url);
    }
    Ok(StoreSpec::Etcd { endpoints })
}

fn raft(args: &RunArgs) -> Result<StoreSpec, ConfigError> {
    let node_id = args.raft_node_id.unwrap_or(DEFAULT_NODE_ID);
    if node_id == 0 {
        return Err(ConfigError::flag(
            "--raft-node-id",
            "raft node ids start at 1",
        ));
    }
    let Some(list) = &args.raft_peers else {
        return Ok(StoreSpec::Raft {
            node_id,
            listen: args.raft_listen,
            peers: Vec::new(),
        });
    };
    let peers = parse_peers(list)?;
    let Some(own) = peers.iter().find(|p| p.id == node_id) else {
        let ids: Vec<String> = peers.iter().map(|p| p.id.to_string()).collect();
        return Err(ConfigError::Conflict(format!(
            "--raft-node-id {node_id} is not among the --raft-peers ids ({})",
            ids.join(", ")
        )));
    };
    match args.raft_listen {
        None => Err(ConfigError::flag(
            "--raft-listen",
            format!(
                "required with --raft-peers (this node's entry is {node_id}={})",
                own.addr
            ),
        )),
        Some(listen) if listen != own.addr => Err(ConfigError::Conflict(format!(
            "--raft-listen {listen} differs from this node's entry {node_id}={} in --raft-peers: \
             the raft store binds the address its peers dial",
            own.addr
        ))),
        listen => Ok(StoreSpec::Raft {
            node_id,
            listen,
            peers,
        }),
    }
}

/// `ID=IP:PORT,...`: unique ids and addresses, 1, 3 or 5 members.
fn parse_peers(list: &str) -> Result<Vec<RaftPeer>, ConfigError> {
    let bad = |message: String| ConfigError::flag("--raft-peers", message);
    let mut peers = Vec::new();
    let (mut ids, mut addrs) = (BTreeSet::new(), BTreeSet::new());
    for entry in list.split(',').map(str::trim) {
        let not_peer = || bad(format!("{entry:?} is not ID=HOST:PORT"));
        let (id, addr) = entry.split_once('=').ok_or_else(not_peer)?;
        let id: NodeId = id.parse().map_err(|_| not_peer())?;
        if id == 0 {
            return Err(bad(format!("{entry:?}: raft node ids start at 1")));
        }
        let addr: SocketAddr = match addr.parse() {
            Ok(addr) => addr,
            Err(_) if addr.parse::<HostPort>().is_ok() => {
                return Err(bad(format!(
                    "{entry:?}: the address must be an IP address and port, like 10.0.0.2:7444 \
                     (the raft store dials fixed addresses)"
                )));
            }
            Err(_) => return Err(not_peer()),
        };
        if !ids.insert(id) {
            return Err(bad(format!("node id {id} is listed twice")));
        }
        if !addrs.insert(addr) {
            return Err(bad(format!("address {addr} is listed twice")));
        }
        peers.push(RaftPeer { id, addr });
    }
    if !matches!(peers.len(), 1 | 3 | 5) {
        return Err(bad(format!(
            "a replica set has 1, 3 or 5 members, not {}: an even count tolerates no more failures than one fewer",
            peers.len()
        )));
    }
    peers.sort();
    Ok(peers)
}
