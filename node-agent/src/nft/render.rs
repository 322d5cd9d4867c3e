//! Rendering one [`ServiceUpdate`] as one `nft -f -` transaction, against what the table
//! holds now. nft applies a file all or nothing, so no packet ever sees a half-applied
//! update; reading the table first lets every command be one that cannot fail (nft
//! 1.0.6 has no `destroy`, so deleting what is absent would abort the whole file).

use std::{collections::BTreeMap, fmt::Write as _, net::SocketAddr};

use super::{
    model::Listed,
    names::{self, EMPTY4, EMPTY6, MAP4, MAP6, PRIORITY},
};
use crate::{
    exec::{ExecError, ServiceUpdate},
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
};

/// Longest comment the kernel stores (`NFT_USERDATA_MAXLEN` leaves room for 128).
const MAX_COMMENT: usize = 128;

/// The transaction that takes `table` (holding `current`) to `update` applied.
pub(crate) fn transaction(
    table: &str,
    current: &Listed,
    update: &ServiceUpdate,
) -> Result<String, ExecError> {
    let mut out = String::new();
    base(&mut out, table);
    for frontend in &update.remove {
        if !update.set.contains_key(frontend) {
            remove(&mut out, table, current, frontend);
        }
    }
    for (frontend, backends) in &update.set {
        set(&mut out, table, current, frontend, backends)?;
    }
    Ok(out)
}

/// The table, its maps and sets, and the base chains. `add` of what exists is a no-op,
/// and the base chains' rules are rewritten in every transaction, which repairs them if
/// anyone touched them and costs nothing (the swap is atomic).
fn base(out: &mut String, table: &str) {
    let t = format!("inet {table}");
    line(out, format_args!("add table {t}"));
    let families = [
        ("ip", "ipv4_addr", MAP4, EMPTY4),
        ("ip6", "ipv6_addr", MAP6, EMPTY6),
    ];
    for (_, addr, map, empty) in families {
        let key = format!("{addr} . inet_proto . inet_service");
        line(
            out,
            format_args!("add map {t} {map} {{ type {key} : verdict; }}"),
        );
        line(out, format_args!("add set {t} {empty} {{ type {key}; }}"));
    }
    for hook in ["prerouting", "output"] {
        let chain = format!("nat_{hook}");
        base_chain(out, &t, &chain, "nat", hook);
        for (family, _, map, _) in families {
            line(
                out,
                format_args!(
                    "add rule {t} {chain} {family} daddr . meta l4proto . th dport vmap @{map}"
                ),
            );
        }
        let chain = format!("filter_{hook}");
        base_chain(out, &t, &chain, "filter", hook);
        for (family, _, _, empty) in families {
            let key = format!("{family} daddr . meta l4proto . th dport @{empty}");
            // A reset makes connect() fail at once with ECONNREFUSED.
            line(
                out,
                format_args!("add rule {t} {chain} meta l4proto tcp {key} reject with tcp reset"),
            );
            line(
                out,
                format_args!("add rule {t} {chain} {key} reject with icmpx port-unreachable"),
            );
        }
    }
}

fn base_chain(out: &mut String, t: &str, chain: &str, kind: &str, hook: &str) {
    line(
        out,
        format_args!(
            "add chain {t} {chain} {{ type {kind} hook {hook} priority {PRIORITY}; policy accept; }}"
        ),
    );
    line(out, format_args!("flush chain {t} {chain}"));
}

fn remove(out: &mut String, table: &str, current: &Listed, frontend: &ServiceFrontend) {
    let t = format!("inet {table}");
    remove_chains(out, &t, current, frontend);
    if current.empty.contains_key(frontend) {
        delete_element(out, &t, names::empty_set_of(frontend.vip), frontend);
    }
}

/// Takes `frontend` out of its verdict map and deletes its chains, whatever is there.
fn remove_chains(out: &mut String, t: &str, current: &Listed, frontend: &ServiceFrontend) {
    let chain = names::service_chain(frontend);
    if current.elements.contains_key(frontend) {
        delete_element(out, t, names::map_of(frontend.vip), frontend);
    }
    if current.chains.contains_key(&chain) {
        // Flushed first: its rule references the backend chains deleted below.
        line(out, format_args!("flush chain {t} {chain}"));
        line(out, format_args!("delete chain {t} {chain}"));
    }
    for backend in current.chains_with_prefix(&names::backend_prefix(&chain)) {
        line(out, format_args!("delete chain {t} {backend}"));
    }
}

fn set(
    out: &mut String,
    table: &str,
    current: &Listed,
    frontend: &ServiceFrontend,
    service: &ServiceBackends,
) -> Result<(), ExecError> {
    let t = format!("inet {table}");
    let chain = names::service_chain(frontend);
    let targets = targets(frontend, &service.backends)?;
    let proto = names::proto(frontend.protocol);
    let name = safe_comment(&service.name.to_string());
    let empty_set = names::empty_set_of(frontend.vip);
    if targets.is_empty() {
        // Rejected by the filter chains; it needs no chain of its own.
        remove_chains(out, &t, current, frontend);
        if !current.empty_has(frontend, &name) {
            if current.empty.contains_key(frontend) {
                delete_element(out, &t, empty_set, frontend);
            }
            let key = key(frontend);
            let comment = comment(name.as_deref());
            line(
                out,
                format_args!("add element {t} {empty_set} {{ {key}{comment} }}"),
            );
        }
        return Ok(());
    }
    if current.empty.contains_key(frontend) {
        delete_element(out, &t, empty_set, frontend);
    }
    line(out, format_args!("add chain {t} {chain}"));
    line(out, format_args!("flush chain {t} {chain}"));
    let mut backend_chains = Vec::with_capacity(targets.len());
    for (target, backend) in &targets {
        let name = names::backend_chain(&chain, *target);
        // An intact backend chain is left alone, so its counter keeps counting.
        if !current.backend_intact(&name, *target) {
            let verb = if current.chains.contains_key(&name) {
                "flush"
            } else {
                "add"
            };
            line(out, format_args!("{verb} chain {t} {name}"));
            line(
                out,
                format_args!(
                    "add rule {t} {name} meta l4proto {proto} counter dnat {}{}",
                    names::dnat_target(*target),
                    comment(safe_comment(&backend_comment(backend)).as_deref()),
                ),
            );
        }
        backend_chains.push(name);
    }
    let arms: Vec<String> = backend_chains
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{i} : goto {name}"))
        .collect();
    line(
        out,
        format_args!(
            "add rule {t} {chain} numgen random mod {} vmap {{ {} }}{}",
            arms.len(),
            arms.join(", "),
            comment(name.as_deref())
        ),
    );
    // Stale backends go after the service rule that referenced them was flushed.
    for stale in current.chains_with_prefix(&names::backend_prefix(&chain)) {
        if !backend_chains.iter().any(|b| b == stale) {
            line(out, format_args!("delete chain {t} {stale}"));
        }
    }
    match current.elements.get(frontend) {
        Some(have) if *have == chain => {}
        have => {
            // Re-adding an element with another verdict fails, so replace it.
            if have.is_some() {
                delete_element(out, &t, names::map_of(frontend.vip), frontend);
            }
            line(
                out,
                format_args!(
                    "add element {t} {} {{ {} : goto {chain} }}",
                    names::map_of(frontend.vip),
                    key(frontend)
                ),
            );
        }
    }
    Ok(())
}

/// The distinct backend addresses, checked: same family as the VIP, no port 0.
fn targets<'a>(
    frontend: &ServiceFrontend,
    backends: &'a [BackendTarget],
) -> Result<BTreeMap<SocketAddr, &'a BackendTarget>, ExecError> {
    let what = || {
        format!(
            "nft: service {}:{} {}",
            frontend.vip, frontend.port, frontend.protocol
        )
    };
    if frontend.port == 0 {
        return Err(ExecError::new(what(), "frontend port 0 cannot be matched"));
    }
    let mut out = BTreeMap::new();
    for b in backends {
        if b.ip.is_ipv4() != frontend.vip.is_ipv4() {
            return Err(ExecError::new(
                what(),
                format!(
                    "backend {} is not of the VIP's address family; DNAT cannot cross families",
                    b.ip
                ),
            ));
        }
        if b.port == 0 {
            return Err(ExecError::new(
                what(),
                format!("backend {} has port 0", b.ip),
            ));
        }
        out.entry(SocketAddr::new(b.ip, b.port)).or_insert(b);
    }
    Ok(out)
}

fn delete_element(out: &mut String, t: &str, map: &str, frontend: &ServiceFrontend) {
    line(
        out,
        format_args!("delete element {t} {map} {{ {} }}", key(frontend)),
    );
}

fn key(frontend: &ServiceFrontend) -> String {
    format!(
        "{} . {} . {}",
        frontend.vip,
        names::proto(frontend.protocol),
        frontend.port
    )
}

/// `cluster/node`, or `cluster` when the node is unknown or would not fit safely.
fn backend_comment(backend: &BackendTarget) -> String {
    let cluster = backend.cluster.as_str();
    match &backend.node {
        Some(node) if cluster.len() + 1 + node.len() <= MAX_COMMENT => format!("{cluster}/{node}"),
        _ => cluster.to_owned(),
    }
}

/// `text` if it can be a comment: short enough, and nothing that could break out of
/// the quotes. Our names are DNS labels, so this only guards against surprises.
fn safe_comment(text: &str) -> Option<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_');
    (!text.is_empty() && text.len() <= MAX_COMMENT && text.chars().all(safe))
        .then(|| text.to_owned())
}

/// ` comment "…"`, or nothing.
fn comment(text: Option<&str>) -> String {
    text.map(|t| format!(" comment \"{t}\""))
        .unwrap_or_default()
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    // Writing to a String cannot fail.
    let _ = out.write_fmt(args);
    out.push('\n');
}
