//! Parsing `nft -j list table` output into [`Listed`]. Only the shapes we render are
//! understood; anything else becomes [`Rule::Other`] or is skipped, which no service
//! accepts as its own, so it gets rewritten rather than trusted.

use std::net::{IpAddr, SocketAddr};

use serde_json::Value;

use super::{
    model::{Counted, Counter, Dispatch, Listed, Rule},
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
            let name = set.get("name").and_then(Value::as_str).unwrap_or("");
            for elem in elements(set) {
                if name == names::EMPTY4 || name == names::EMPTY6 {
                    if let Some(frontend) = parse_frontend(elem) {
                        out.empty.insert(frontend, comment(elem));
                    }
                } else if (name == names::COUNTED4 || name == names::COUNTED6)
                    && let Some((key, counted)) = parse_counted(elem)
                {
                    out.counted.insert(key, counted);
                }
            }
        } else if let Some(map) = item.get("map") {
            let name = map.get("name").and_then(Value::as_str).unwrap_or("");
            for elem in elements(map) {
                let Some([key, value]) = elem.as_array().map(Vec::as_slice) else {
                    continue;
                };
                if name == names::MAP4 || name == names::MAP6 {
                    if let Some((frontend, dispatch)) = parse_dispatch(key, value) {
                        out.dispatch.insert(frontend, dispatch);
                    }
                } else if let Some((_, slot)) = names::parse_slot_map(name)
                    && let Some((frontend, target)) = parse_slot(key, value)
                {
                    out.backends.insert((frontend, slot), target);
                }
            }
        }
    }
    Ok(out)
}

fn elements(set: &Value) -> impl Iterator<Item = &Value> {
    set.get("elem")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// An element's comment: `{"elem": {"val": .., "comment": ..}}`.
fn comment(elem: &Value) -> Option<String> {
    elem.pointer("/elem/comment")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// An element's key without its wrapper (present with a comment or a counter).
fn value_of(elem: &Value) -> &Value {
    elem.pointer("/elem/val").unwrap_or(elem)
}

fn concat(value: &Value) -> Option<&[Value]> {
    value_of(value).get("concat")?.as_array().map(Vec::as_slice)
}

fn ip(value: &Value) -> Option<IpAddr> {
    value.as_str()?.parse().ok()
}

fn port(value: &Value) -> Option<u16> {
    u16::try_from(value.as_u64()?).ok()
}

/// `{"concat": [vip, proto, port]}`, possibly wrapped.
fn parse_frontend(key: &Value) -> Option<ServiceFrontend> {
    let [vip, proto, p] = concat(key)? else {
        return None;
    };
    Some(ServiceFrontend {
        vip: ip(vip)?,
        protocol: names::parse_proto(proto.as_str()?)?,
        port: port(p)?,
    })
}

/// `[{frontend key, comment}, {"goto": {"target": chain}}]`.
fn parse_dispatch(key: &Value, verdict: &Value) -> Option<(ServiceFrontend, Dispatch)> {
    let frontend = parse_frontend(key)?;
    let chain = verdict
        .pointer("/goto/target")
        .or_else(|| verdict.pointer("/jump/target"))?
        .as_str()?
        .to_owned();
    Some((
        frontend,
        Dispatch {
            chain,
            comment: comment(key),
        },
    ))
}

/// `[{"concat": [vip, proto, port]}, {"concat": [address, port]}]`.
fn parse_slot(key: &Value, value: &Value) -> Option<(ServiceFrontend, SocketAddr)> {
    let frontend = parse_frontend(key)?;
    let [address, backend_port] = concat(value)? else {
        return None;
    };
    Some((frontend, SocketAddr::new(ip(address)?, port(backend_port)?)))
}

/// `{"elem": {"val": {"concat": [vip, port, backend, port]}, "counter": .., "comment": ..}}`.
fn parse_counted(elem: &Value) -> Option<((IpAddr, u16, SocketAddr), Counted)> {
    let [vip, p, backend, backend_port] = concat(elem)? else {
        return None;
    };
    let counter = elem
        .pointer("/elem/counter")
        .map_or(Counter::default(), |c| Counter {
            packets: c.get("packets").and_then(Value::as_u64).unwrap_or(0),
            bytes: c.get("bytes").and_then(Value::as_u64).unwrap_or(0),
        });
    Some((
        (
            ip(vip)?,
            port(p)?,
            SocketAddr::new(ip(backend)?, port(backend_port)?),
        ),
        Counted {
            comment: comment(elem),
            counter,
        },
    ))
}

/// A rule we render in a spread or dnat chain, and nothing else.
fn parse_rule(rule: &Value) -> Rule {
    let Some([expr]) = rule
        .get("expr")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    else {
        return Rule::Other;
    };
    spread(expr).or_else(|| dnat(expr)).unwrap_or(Rule::Other)
}

/// `numgen random mod N vmap { 0 : goto dnat<f>_0, ... }`, every slot below N there.
fn spread(expr: &Value) -> Option<Rule> {
    let vmap = expr.get("vmap")?;
    let numgen = vmap.pointer("/key/numgen")?;
    if numgen.get("mode")?.as_str()? != "random" || numgen.get("offset")?.as_u64()? != 0 {
        return None;
    }
    let modulus = u32::try_from(numgen.get("mod")?.as_u64()?).ok()?;
    let arms = vmap.pointer("/data/set")?.as_array()?;
    if arms.len() != modulus as usize {
        return None;
    }
    let mut family = None;
    for arm in arms {
        let [slot, verdict] = arm.as_array()?.as_slice() else {
            return None;
        };
        let slot = u32::try_from(slot.as_u64()?)
            .ok()
            .filter(|&k| k < modulus)?;
        let target = verdict.pointer("/goto/target")?.as_str()?;
        let v4 = [true, false]
            .into_iter()
            .find(|&v4| names::dnat_chain(v4, slot) == target)?;
        if *family.get_or_insert(v4) != v4 {
            return None;
        }
    }
    // Arms are distinct keys of a set, each naming its own slot's chain: 0..N.
    Some(Rule::Spread {
        v4: family?,
        modulus,
    })
}

/// `dnat <f> to <f> daddr . meta l4proto . th dport map @slot<f>_<k>`.
fn dnat(expr: &Value) -> Option<Rule> {
    let dnat = expr.get("dnat")?;
    let v4 = match dnat.get("family")?.as_str()? {
        "ip" => true,
        "ip6" => false,
        _ => return None,
    };
    let map = dnat.pointer("/addr/map")?;
    let (map_v4, slot) = names::parse_slot_map(map.get("data")?.as_str()?.strip_prefix('@')?)?;
    let [daddr, l4proto, dport] = map.pointer("/key/concat")?.as_array()?.as_slice() else {
        return None;
    };
    let family = if v4 { "ip" } else { "ip6" };
    let field = |v: &Value, protocol: &str, field: &str| {
        v.pointer("/payload/protocol").and_then(Value::as_str) == Some(protocol)
            && v.pointer("/payload/field").and_then(Value::as_str) == Some(field)
    };
    let shaped = map_v4 == v4
        && field(daddr, family, "daddr")
        && l4proto.pointer("/meta/key").and_then(Value::as_str) == Some("l4proto")
        && field(dport, "th", "dport");
    shaped.then_some(Rule::Dnat { v4, slot })
}
