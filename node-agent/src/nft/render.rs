//! Rendering one [`ServiceUpdate`] as one `nft -f -` transaction, against what the table
//! holds now. nft applies a file all or nothing, so no packet ever sees a half-applied
//! update; knowing the table first lets every command be one that cannot fail (nft
//! 1.0.6 has no `destroy`, so deleting what is absent would abort the whole file).
//!
//! Every command goes through [`Tx`], which also applies it to the [`Listed`] model it
//! was rendered against. Once the transaction commits, that model is the table, and the
//! next update renders against it without listing the table again: a listing costs time
//! in proportion to every service installed, a one-backend change should not.

use std::{collections::BTreeMap, fmt::Write as _, net::SocketAddr};

use super::{
    model::{Counter, Listed, Rule},
    names::{self, EMPTY4, EMPTY6, MAP4, MAP6, PRIORITY},
};
use crate::{
    exec::{ExecError, ServiceUpdate},
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
};

/// Longest comment the kernel stores (`NFT_USERDATA_MAXLEN` leaves room for 128).
const MAX_COMMENT: usize = 128;

/// Whether a transaction rewrites the base chains' rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// Rewritten: after a listing, where their rules cannot be checked one by one
    /// (anyone may have touched them), so this repairs them.
    Write,
    /// Left alone: the model comes from our own committed transactions, which wrote
    /// them. Rewriting costs a rule deletion, which the kernel makes wait for an RCU
    /// grace period when the `nft` process closes its socket.
    Keep,
}

/// The transaction that takes `table` (holding `model`) to `update` applied; `model` is
/// updated to what the table holds once it commits. On an error `model` is partly
/// updated and must be dropped.
pub(crate) fn transaction(
    table: &str,
    model: &mut Listed,
    update: &ServiceUpdate,
    base: Base,
) -> Result<String, ExecError> {
    let mut tx = Tx {
        out: String::new(),
        t: format!("inet {table}"),
        model,
    };
    if base == Base::Write {
        tx.base();
    }
    for frontend in &update.remove {
        if !update.set.contains_key(frontend) {
            tx.remove(frontend);
        }
    }
    for (frontend, backends) in &update.set {
        tx.set(frontend, backends)?;
    }
    Ok(tx.out)
}

/// A transaction being written, and the model it changes as it goes.
struct Tx<'a> {
    out: String,
    /// `inet <table>`.
    t: String,
    model: &'a mut Listed,
}

impl Tx<'_> {
    /// The table, its maps and sets, and the base chains. `add` of what exists is a
    /// no-op, and the swap of the base chains' rules is atomic.
    fn base(&mut self) {
        let t = self.t.clone();
        self.line(format_args!("add table {t}"));
        let families = [
            ("ip", "ipv4_addr", MAP4, EMPTY4),
            ("ip6", "ipv6_addr", MAP6, EMPTY6),
        ];
        for (_, addr, map, empty) in families {
            let key = format!("{addr} . inet_proto . inet_service");
            self.line(format_args!(
                "add map {t} {map} {{ type {key} : verdict; }}"
            ));
            self.line(format_args!("add set {t} {empty} {{ type {key}; }}"));
        }
        for hook in ["prerouting", "output"] {
            let chain = format!("nat_{hook}");
            self.base_chain(&chain, "nat", hook);
            for (family, _, map, _) in families {
                self.other_rule(
                    &chain,
                    format_args!("{family} daddr . meta l4proto . th dport vmap @{map}"),
                );
            }
            let chain = format!("filter_{hook}");
            self.base_chain(&chain, "filter", hook);
            for (family, _, _, empty) in families {
                let key = format!("{family} daddr . meta l4proto . th dport @{empty}");
                // A reset makes connect() fail at once with ECONNREFUSED.
                self.other_rule(
                    &chain,
                    format_args!("meta l4proto tcp {key} reject with tcp reset"),
                );
                self.other_rule(
                    &chain,
                    format_args!("{key} reject with icmpx port-unreachable"),
                );
            }
        }
    }

    fn base_chain(&mut self, chain: &str, kind: &str, hook: &str) {
        let t = &self.t;
        line(
            &mut self.out,
            format_args!(
                "add chain {t} {chain} {{ type {kind} hook {hook} priority {PRIORITY}; policy accept; }}"
            ),
        );
        self.model.chains.entry(chain.to_owned()).or_default();
        self.flush_chain(chain);
    }

    fn remove(&mut self, frontend: &ServiceFrontend) {
        self.remove_chains(frontend);
        if self.model.empty.contains_key(frontend) {
            self.delete_empty(frontend);
        }
    }

    /// Takes `frontend` out of its verdict map and deletes its chains, whatever is there.
    fn remove_chains(&mut self, frontend: &ServiceFrontend) {
        let chain = names::service_chain(frontend);
        if self.model.elements.contains_key(frontend) {
            self.delete_element(frontend);
        }
        if self.model.chains.contains_key(&chain) {
            // Flushed first: its rule references the backend chains deleted below.
            self.flush_chain(&chain);
            self.delete_chain(&chain);
        }
        for backend in self.chains_with_prefix(&names::backend_prefix(&chain)) {
            self.delete_chain(&backend);
        }
    }

    fn set(
        &mut self,
        frontend: &ServiceFrontend,
        service: &ServiceBackends,
    ) -> Result<(), ExecError> {
        let chain = names::service_chain(frontend);
        let targets = targets(frontend, &service.backends)?;
        let proto = names::proto(frontend.protocol);
        let name = safe_comment(&service.name.to_string());
        if targets.is_empty() {
            // Rejected by the filter chains; it needs no chain of its own.
            self.remove_chains(frontend);
            if !self.model.empty_has(frontend, &name) {
                if self.model.empty.contains_key(frontend) {
                    self.delete_empty(frontend);
                }
                self.add_empty(frontend, name);
            }
            return Ok(());
        }
        if self.model.empty.contains_key(frontend) {
            self.delete_empty(frontend);
        }
        self.add_chain(&chain);
        self.flush_chain(&chain);
        let mut backend_chains = Vec::with_capacity(targets.len());
        for (target, backend) in &targets {
            let backend_chain = names::backend_chain(&chain, *target);
            // An intact backend chain is left alone, so its counter keeps counting.
            if !self.model.backend_intact(&backend_chain, *target) {
                if self.model.chains.contains_key(&backend_chain) {
                    self.flush_chain(&backend_chain);
                } else {
                    self.add_chain(&backend_chain);
                }
                let comment = safe_comment(&backend_comment(backend));
                let t = &self.t;
                line(
                    &mut self.out,
                    format_args!(
                        "add rule {t} {backend_chain} meta l4proto {proto} counter dnat {}{}",
                        names::dnat_target(*target),
                        with_comment(comment.as_deref()),
                    ),
                );
                self.push_rule(
                    &backend_chain,
                    Rule::Dnat {
                        target: *target,
                        counter: Some(Counter::default()),
                        comment,
                    },
                );
            }
            backend_chains.push(backend_chain);
        }
        let arms: Vec<String> = backend_chains
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{i} : goto {name}"))
            .collect();
        let t = &self.t;
        line(
            &mut self.out,
            format_args!(
                "add rule {t} {chain} numgen random mod {} vmap {{ {} }}{}",
                arms.len(),
                arms.join(", "),
                with_comment(name.as_deref())
            ),
        );
        // Stale backends go after the service rule that referenced them was flushed.
        for stale in self.chains_with_prefix(&names::backend_prefix(&chain)) {
            if !backend_chains.contains(&stale) {
                self.delete_chain(&stale);
            }
        }
        self.push_rule(
            &chain,
            Rule::Spread {
                targets: backend_chains,
                comment: name,
            },
        );
        match self.model.elements.get(frontend) {
            Some(have) if *have == chain => {}
            have => {
                // Re-adding an element with another verdict fails, so replace it.
                if have.is_some() {
                    self.delete_element(frontend);
                }
                let t = &self.t;
                line(
                    &mut self.out,
                    format_args!(
                        "add element {t} {} {{ {} : goto {chain} }}",
                        names::map_of(frontend.vip),
                        key(frontend)
                    ),
                );
                self.model.elements.insert(*frontend, chain);
            }
        }
        Ok(())
    }

    fn chains_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.model
            .chains_with_prefix(prefix)
            .map(str::to_owned)
            .collect()
    }

    fn add_chain(&mut self, chain: &str) {
        let t = &self.t;
        line(&mut self.out, format_args!("add chain {t} {chain}"));
        self.model.chains.entry(chain.to_owned()).or_default();
    }

    fn flush_chain(&mut self, chain: &str) {
        let t = &self.t;
        line(&mut self.out, format_args!("flush chain {t} {chain}"));
        if let Some(rules) = self.model.chains.get_mut(chain) {
            rules.clear();
        }
    }

    fn delete_chain(&mut self, chain: &str) {
        let t = &self.t;
        line(&mut self.out, format_args!("delete chain {t} {chain}"));
        self.model.chains.remove(chain);
    }

    fn push_rule(&mut self, chain: &str, rule: Rule) {
        self.model
            .chains
            .entry(chain.to_owned())
            .or_default()
            .push(rule);
    }

    /// A rule the model does not look into (the base chains' lookups).
    fn other_rule(&mut self, chain: &str, rule: std::fmt::Arguments<'_>) {
        let t = &self.t;
        line(&mut self.out, format_args!("add rule {t} {chain} {rule}"));
        self.push_rule(chain, Rule::Other);
    }

    fn delete_element(&mut self, frontend: &ServiceFrontend) {
        let t = &self.t;
        let map = names::map_of(frontend.vip);
        line(
            &mut self.out,
            format_args!("delete element {t} {map} {{ {} }}", key(frontend)),
        );
        self.model.elements.remove(frontend);
    }

    fn add_empty(&mut self, frontend: &ServiceFrontend, name: Option<String>) {
        let t = &self.t;
        let set = names::empty_set_of(frontend.vip);
        line(
            &mut self.out,
            format_args!(
                "add element {t} {set} {{ {}{} }}",
                key(frontend),
                with_comment(name.as_deref())
            ),
        );
        self.model.empty.insert(*frontend, name);
    }

    fn delete_empty(&mut self, frontend: &ServiceFrontend) {
        let t = &self.t;
        let set = names::empty_set_of(frontend.vip);
        line(
            &mut self.out,
            format_args!("delete element {t} {set} {{ {} }}", key(frontend)),
        );
        self.model.empty.remove(frontend);
    }

    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        line(&mut self.out, args);
    }
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
fn with_comment(text: Option<&str>) -> String {
    text.map(|t| format!(" comment \"{t}\""))
        .unwrap_or_default()
}

fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    // Writing to a String cannot fail.
    let _ = out.write_fmt(args);
    out.push('\n');
}
