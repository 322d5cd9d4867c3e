//! Parsing `nft -j list table` output into [`Listed`]. Only the shapes we render are
//! understood; anything else becomes [`Rule::Other`], which no service accepts as its
//! own, so it gets rewritten rather than trusted.

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::{
    model::{Counter, Listed, Rule},
    names,
};
use crate::{exec::ExecError, plan::ServiceFrontend};

/// Parses the JSON of `nft -j list table <family> <table>`.
pub(crate) fn listed(json: &str) -> Result<Listed, ExecError> {
    let root: Value = serde_json::from_str(json)
        .map_err(|e| ExecError::new("parsing `nft -j list table` output", e))?;
    let Some(items) = root.get("nftables").and_then(Value::as_array) else {
        return Err(ExecError::new(
            "parsing `nft -j list table` output",
            "no top-level \"nftables\" array",
        ));
    };
    let mut out = Listed::default();
    for item in items {
        if let Some(chain) = item.get("chain") {
            if let Some(name) = chain.get("name").and_then(Value::as_str) {
                out.chains.entry(name.to_owned()).or_default();
            }
        } else if let Some(rule) = item.get("rule") {
            // Rules are listed after their chains, in order.
            if let Some(chain) = rule.get("chain").and_then(Value::as_str) {
                out.chains
                    .entry(chain.to_owned())
                    .or_default()
                    .push(parse_rule(rule));
            }
        } else if let Some(set) = item.get("set") {
            let name = set.get("name").and_then(Value::as_str);
            if name != Some(names::EMPTY4) && name != Some(names::EMPTY6) {
                continue;
            }
            for elem in set
                .get("elem")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                // With a comment: {"elem": {"val": key, "comment": ..}}.
                let comment = elem.pointer("/elem/comment").and_then(Value::as_str);
                if let Some(frontend) = parse_key(elem) {
                    out.empty.insert(frontend, comment.map(str::to_owned));
                }
            }
        } else if let Some(map) = item.get("map") {
            let name = map.get("name").and_then(Value::as_str);
            if name != Some(names::MAP4) && name != Some(names::MAP6) {
                continue;
            }
            for elem in map
                .get("elem")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some((frontend, chain)) = parse_element(elem) {
                    out.elements.insert(frontend, chain);
                }
            }
        }
    }
    Ok(out)
}

/// `[{"concat": [vip, proto, port]}, {"goto": {"target": chain}}]`.
fn parse_element(elem: &Value) -> Option<(ServiceFrontend, String)> {
    let [key, verdict] = elem.as_array()?.as_slice() else {
        return None;
    };
    let frontend = parse_key(key)?;
    let target = verdict
        .pointer("/goto/target")
        .or_else(|| verdict.pointer("/jump/target"))?;
    Some((frontend, target.as_str()?.to_owned()))
}

/// `{"concat": [vip, proto, port]}`, possibly wrapped in `{"elem": {"val": ..}}` (an
/// element with a comment or timeout).
fn parse_key(key: &Value) -> Option<ServiceFrontend> {
    let key = key.pointer("/elem/val").unwrap_or(key);
    let [vip, proto, port] = key.get("concat")?.as_array()?.as_slice() else {
        return None;
    };
    Some(ServiceFrontend {
        vip: vip.as_str()?.parse::<IpAddr>().ok()?,
        protocol: names::parse_proto(proto.as_str()?)?,
        port: u16::try_from(port.as_u64()?).ok()?,
    })
}

fn parse_rule(rule: &Value) -> Rule {
    let comment = rule
        .get("comment")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(exprs) = rule.get("expr").and_then(Value::as_array) else {
        return Rule::Other;
    };
    let mut counter = None;
    let mut result = None;
    for expr in exprs {
        if is_l4proto_match(expr) {
            continue;
        } else if let Some(c) = expr.get("counter") {
            counter = Some(Counter {
                packets: c.get("packets").and_then(Value::as_u64).unwrap_or(0),
                bytes: c.get("bytes").and_then(Value::as_u64).unwrap_or(0),
            });
        } else if result.is_none() {
            result = action(expr);
            if result.is_none() {
                return Rule::Other;
            }
        } else {
            // A second action after ours: not a rule we rendered.
            return Rule::Other;
        }
    }
    match result {
        Some(Action::Spread(targets)) => Rule::Spread { targets, comment },
        Some(Action::Dnat(target)) => Rule::Dnat {
            target,
            counter,
            comment,
        },
        None => Rule::Other,
    }
}

enum Action {
    Spread(Vec<String>),
    Dnat(SocketAddr),
}

fn action(expr: &Value) -> Option<Action> {
    if let Some(dnat) = expr.get("dnat") {
        let ip: IpAddr = dnat.get("addr")?.as_str()?.parse().ok()?;
        let port = u16::try_from(dnat.get("port")?.as_u64()?).ok()?;
        return Some(Action::Dnat(SocketAddr::new(ip, port)));
    }
    let vmap = expr.get("vmap")?;
    let numgen = vmap.pointer("/key/numgen")?;
    if numgen.get("mode")?.as_str()? != "random" || numgen.get("offset")?.as_u64()? != 0 {
        return None;
    }
    let modulus = numgen.get("mod")?.as_u64()?;
    let set = vmap.pointer("/data/set")?.as_array()?;
    // Every index 0..mod must lead somewhere, or some connections would fall through.
    let mut targets = vec![None; usize::try_from(modulus).ok()?];
    for pair in set {
        let [index, verdict] = pair.as_array()?.as_slice() else {
            return None;
        };
        let slot = targets.get_mut(usize::try_from(index.as_u64()?).ok()?)?;
        *slot = Some(verdict.pointer("/goto/target")?.as_str()?.to_owned());
    }
    targets
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(Action::Spread)
}

/// `meta l4proto <proto>`: the dependency nft needs before a port in `dnat`.
fn is_l4proto_match(expr: &Value) -> bool {
    expr.pointer("/match/left/meta/key").and_then(Value::as_str) == Some("l4proto")
        && expr.pointer("/match/op").and_then(Value::as_str) == Some("==")
}
