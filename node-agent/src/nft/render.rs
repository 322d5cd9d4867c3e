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

use clustermesh_proto::Protocol;

use super::{
    model::{Counted, Counter, Dispatch, Listed, Rule},
    names,
};
use crate::{
    exec::{ExecError, ServiceUpdate},
    plan::{BackendTarget, ServiceBackends, ServiceFrontend},
};

mod base;

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

/// The table a transaction writes, as the executor is configured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table<'a> {
    pub name: &'a str,
    /// The node's WireGuard UDP port, whose underlay packets skip conntrack.
    pub untracked_udp_port: Option<u16>,
}

impl<'a> Table<'a> {
    /// `name`, with no untracked port.
    #[cfg(test)]
    pub(crate) fn named(name: &'a str) -> Self {
        Self {
            name,
            untracked_udp_port: None,
        }
    }
}

/// The transaction that takes `table` (holding `model`) to `update` applied; `model` is
/// updated to what the table holds once it commits. On an error `model` is partly
/// updated and must be dropped.
pub(crate) fn transaction(
    table: Table<'_>,
    model: &mut Listed,
    update: &ServiceUpdate,
    base: Base,
) -> Result<String, ExecError> {
    let mut tx = Tx {
        out: String::new(),
        t: format!("inet {}", table.name),
        untracked_udp_port: table.untracked_udp_port,
        model,
        deleted: BTreeMap::new(),
        added: BTreeMap::new(),
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
    Ok(tx.finish())
}

/// A transaction being written, and the model it changes as it goes. Element
/// deletions and additions are gathered per set and written last, deletions first:
/// one command per set keeps a 10,000-service transaction short, and a key deleted and
/// added again (a slot that changed) is deleted before it is added.
struct Tx<'a> {
    out: String,
    /// `inet <table>`.
    t: String,
    untracked_udp_port: Option<u16>,
    model: &'a mut Listed,
    deleted: BTreeMap<String, Vec<String>>,
    added: BTreeMap<String, Vec<String>>,
}

impl Tx<'_> {
    fn remove(&mut self, frontend: &ServiceFrontend) {
        self.remove_dispatch(frontend, &[]);
        if self.model.empty.contains_key(frontend) {
            self.delete_empty(frontend);
        }
    }

    /// Takes `frontend` out of its verdict map and deletes its slots, and the counted
    /// elements of backends not in `keep`.
    fn remove_dispatch(&mut self, frontend: &ServiceFrontend, keep: &[SocketAddr]) {
        if self.model.dispatch.contains_key(frontend) {
            self.delete_dispatch(frontend);
        }
        for slot in self.model.slot_numbers(frontend) {
            self.delete_slot(frontend, slot);
        }
        self.remove_stale_counted(frontend, keep);
    }

    /// Deletes the counted elements of `frontend`'s VIP and port whose backend is
    /// neither in `keep` nor in a slot of a frontend on the same VIP and port (another
    /// protocol), since the protocol is not part of their key.
    fn remove_stale_counted(&mut self, frontend: &ServiceFrontend, keep: &[SocketAddr]) {
        let stale: Vec<SocketAddr> = self
            .model
            .counted_at(frontend.vip, frontend.port)
            .map(|((_, _, target), _)| *target)
            .filter(|target| !keep.contains(target))
            .collect();
        let siblings: Vec<SocketAddr> = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .filter(|p| *p != frontend.protocol)
            .flat_map(|protocol| {
                self.model.slot_targets(&ServiceFrontend {
                    protocol,
                    ..*frontend
                })
            })
            .collect();
        let stale: Vec<SocketAddr> = stale
            .into_iter()
            .filter(|target| !siblings.contains(target))
            .collect();
        for target in stale {
            self.delete_counted(frontend, target);
        }
    }

    fn set(
        &mut self,
        frontend: &ServiceFrontend,
        service: &ServiceBackends,
    ) -> Result<(), ExecError> {
        let targets = targets(frontend, &service.backends)?;
        let name = safe_comment(&service.name.to_string());
        if targets.is_empty() {
            // Rejected by the filter chains; it needs no slot.
            self.remove_dispatch(frontend, &[]);
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
        let v4 = frontend.vip.is_ipv4();
        let modulus = u32::try_from(targets.len())
            .map_err(|_| ExecError::new("nft", "more backends than slots"))?;
        self.ensure_spread(v4, modulus);

        let wanted: Vec<SocketAddr> = targets.keys().copied().collect();
        for (slot, target) in (0u32..).zip(&wanted) {
            match self.model.backends.get(&(*frontend, slot)) {
                Some(have) if have == target => {}
                have => {
                    if have.is_some() {
                        self.delete_slot(frontend, slot);
                    }
                    self.add_slot(frontend, slot, *target);
                }
            }
        }
        for slot in self.model.slot_numbers(frontend) {
            if slot >= modulus {
                self.delete_slot(frontend, slot);
            }
        }
        for (target, backend) in &targets {
            let comment = safe_comment(&backend_comment(backend));
            match self
                .model
                .counted
                .get(&(frontend.vip, frontend.port, *target))
            {
                // An intact counted element keeps its counter.
                Some(have) if have.comment == comment => {}
                have => {
                    if have.is_some() {
                        self.delete_counted(frontend, *target);
                    }
                    self.add_counted(frontend, *target, comment);
                }
            }
        }
        self.remove_stale_counted(frontend, &wanted);

        let dispatch = Dispatch {
            chain: names::spread_chain(v4, modulus),
            comment: name,
        };
        match self.model.dispatch.get(frontend) {
            Some(have) if *have == dispatch => {}
            have => {
                // Re-adding an element with another verdict fails, so replace it.
                if have.is_some() {
                    self.delete_dispatch(frontend);
                }
                self.add_dispatch(frontend, dispatch);
            }
        }
        Ok(())
    }

    /// The spread chain for `modulus` backends and its slots' dnat chains and maps,
    /// (re)written unless intact. They are never deleted: there is one per backend
    /// count and slot in use, and a deletion would cost this transaction an RCU wait.
    fn ensure_spread(&mut self, v4: bool, modulus: u32) {
        let family = if v4 { "ip" } else { "ip6" };
        let addr = if v4 { "ipv4_addr" } else { "ipv6_addr" };
        for slot in 0..modulus {
            if self.model.dnat_intact(v4, slot) {
                continue;
            }
            let (map, chain) = (names::slot_map(v4, slot), names::dnat_chain(v4, slot));
            let t = self.t.clone();
            self.line(format_args!(
                "add map {t} {map} {{ type {addr} . inet_proto . inet_service : \
                 {addr} . inet_service; }}"
            ));
            self.fresh_chain(&chain);
            self.line(format_args!(
                "add rule {t} {chain} dnat {family} to {family} daddr . meta l4proto . \
                 th dport map @{map}"
            ));
            self.push_rule(&chain, Rule::Dnat { v4, slot });
        }
        let chain = names::spread_chain(v4, modulus);
        if self.model.spread_intact(v4, modulus) {
            return;
        }
        self.fresh_chain(&chain);
        let arms: Vec<String> = (0..modulus)
            .map(|slot| format!("{slot} : goto {}", names::dnat_chain(v4, slot)))
            .collect();
        let t = self.t.clone();
        self.line(format_args!(
            "add rule {t} {chain} numgen random mod {modulus} vmap {{ {} }}",
            arms.join(", ")
        ));
        self.push_rule(&chain, Rule::Spread { v4, modulus });
    }

    /// `chain`, empty: flushed if it exists, added if not.
    fn fresh_chain(&mut self, chain: &str) {
        if self.model.chains.contains_key(chain) {
            self.flush_chain(chain);
        } else {
            let t = &self.t;
            line(&mut self.out, format_args!("add chain {t} {chain}"));
            self.model.chains.insert(chain.to_owned(), Vec::new());
        }
    }

    fn flush_chain(&mut self, chain: &str) {
        let t = &self.t;
        line(&mut self.out, format_args!("flush chain {t} {chain}"));
        if let Some(rules) = self.model.chains.get_mut(chain) {
            rules.clear();
        }
    }

    fn push_rule(&mut self, chain: &str, rule: Rule) {
        self.model
            .chains
            .entry(chain.to_owned())
            .or_default()
            .push(rule);
    }

    /// A rule the model does not look into (the base chains' rules).
    fn other_rule(&mut self, chain: &str, rule: std::fmt::Arguments<'_>) {
        let t = &self.t;
        line(&mut self.out, format_args!("add rule {t} {chain} {rule}"));
        self.push_rule(chain, Rule::Other);
    }

    fn add_dispatch(&mut self, frontend: &ServiceFrontend, dispatch: Dispatch) {
        let element = format!(
            "{}{} : goto {}",
            key(frontend),
            with_comment(dispatch.comment.as_deref()),
            dispatch.chain
        );
        self.add_element(names::map_of(frontend.vip), element);
        self.model.dispatch.insert(*frontend, dispatch);
    }

    fn delete_dispatch(&mut self, frontend: &ServiceFrontend) {
        self.delete_element(names::map_of(frontend.vip), key(frontend));
        self.model.dispatch.remove(frontend);
    }

    fn add_slot(&mut self, frontend: &ServiceFrontend, slot: u32, target: SocketAddr) {
        let element = format!("{} : {} . {}", key(frontend), target.ip(), target.port());
        self.add_element(names::slot_map(frontend.vip.is_ipv4(), slot), element);
        self.model.backends.insert((*frontend, slot), target);
    }

    fn delete_slot(&mut self, frontend: &ServiceFrontend, slot: u32) {
        self.delete_element(names::slot_map(frontend.vip.is_ipv4(), slot), key(frontend));
        self.model.backends.remove(&(*frontend, slot));
    }

    fn add_counted(
        &mut self,
        frontend: &ServiceFrontend,
        target: SocketAddr,
        comment: Option<String>,
    ) {
        let element = format!(
            "{}{}",
            counted_key(frontend, target),
            with_comment(comment.as_deref())
        );
        self.add_element(names::counted_of(frontend.vip), element);
        self.model.counted.insert(
            (frontend.vip, frontend.port, target),
            Counted {
                comment,
                counter: Counter::default(),
            },
        );
    }

    fn delete_counted(&mut self, frontend: &ServiceFrontend, target: SocketAddr) {
        self.delete_element(
            names::counted_of(frontend.vip),
            counted_key(frontend, target),
        );
        self.model
            .counted
            .remove(&(frontend.vip, frontend.port, target));
    }

    fn add_empty(&mut self, frontend: &ServiceFrontend, name: Option<String>) {
        let element = format!("{}{}", key(frontend), with_comment(name.as_deref()));
        self.add_element(names::empty_set_of(frontend.vip), element);
        self.model.empty.insert(*frontend, name);
    }

    fn delete_empty(&mut self, frontend: &ServiceFrontend) {
        self.delete_element(names::empty_set_of(frontend.vip), key(frontend));
        self.model.empty.remove(frontend);
    }

    /// Queues `element` for one `add element` command on `set`.
    fn add_element(&mut self, set: impl Into<String>, element: String) {
        self.added.entry(set.into()).or_default().push(element);
    }

    /// Queues `key` for one `delete element` command on `set`.
    fn delete_element(&mut self, set: impl Into<String>, key: String) {
        self.deleted.entry(set.into()).or_default().push(key);
    }

    fn line(&mut self, args: std::fmt::Arguments<'_>) {
        line(&mut self.out, args);
    }

    /// The transaction: what was written, then the element deletions and additions.
    fn finish(mut self) -> String {
        let t = self.t.clone();
        for (verb, elements) in [("delete", &self.deleted), ("add", &self.added)] {
            for (set, items) in elements {
                line(
                    &mut self.out,
                    format_args!("{verb} element {t} {set} {{ {} }}", items.join(", ")),
                );
            }
        }
        self.out
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

/// A counted element's key: `vip . port . backend . port`.
fn counted_key(frontend: &ServiceFrontend, target: SocketAddr) -> String {
    format!(
        "{} . {} . {} . {}",
        frontend.vip,
        frontend.port,
        target.ip(),
        target.port()
    )
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
