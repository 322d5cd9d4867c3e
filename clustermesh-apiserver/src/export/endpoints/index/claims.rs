//! Who claims an IP: the pods whose endpoint uses it, the first of them in
//! namespace/name order being the one exported.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use clustermesh_proto::{ClusterName, DnsLabel, DnsSubdomain, EndpointParts, IdentityId};

use crate::source::ObjectRef;

/// A pod's namespace and name, validated as an endpoint carries them; shared by every
/// claim the pod makes. They order as the pod's [`ObjectRef`] does.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PodNames {
    pub namespace: Arc<DnsLabel>,
    pub pod: DnsSubdomain,
}

impl PodNames {
    pub fn key(&self) -> ObjectRef {
        ObjectRef {
            namespace: self.namespace.to_string(),
            name: self.pod.to_string(),
        }
    }

    fn order(&self, key: &ObjectRef) -> std::cmp::Ordering {
        (self.namespace.as_str(), self.pod.as_str()).cmp(&(&key.namespace, &key.name))
    }
}

/// One pod's endpoint at an IP. Its parts are shared, so a million claims hold a
/// million references, not a million copies of node and namespace names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claim {
    pub who: Arc<PodNames>,
    pub node: Arc<DnsSubdomain>,
    pub identity: IdentityId,
}

impl Claim {
    pub fn parts<'a>(&'a self, cluster: &'a ClusterName, ip: IpAddr) -> EndpointParts<'a> {
        EndpointParts {
            cluster,
            ip,
            identity: self.identity,
            node: &self.node,
            namespace: &self.who.namespace,
            pod: &self.who.pod,
        }
    }

    /// The endpoint's store key and encoded record.
    pub fn record(&self, cluster: &ClusterName, ip: IpAddr) -> (String, Bytes) {
        (
            endpoint_key(cluster, ip),
            self.parts(cluster, ip).encode_record(),
        )
    }
}

pub(super) use clustermesh_proto::endpoint_key;

/// The claims on one IP in namespace/name order. Almost always exactly one, which is
/// kept inline: a vector would be one more allocation per IP.
#[derive(Debug)]
pub(super) enum Claimants {
    One(Claim),
    Many(Vec<Claim>),
}

impl Claimants {
    pub fn all(&self) -> &[Claim] {
        match self {
            Self::One(claim) => std::slice::from_ref(claim),
            Self::Many(claims) => claims,
        }
    }

    pub fn first(&self) -> Option<&Claim> {
        self.all().first()
    }

    pub fn len(&self) -> usize {
        self.all().len()
    }

    pub fn insert(&mut self, claim: Claim) {
        let mut claims = match std::mem::replace(self, Self::Many(Vec::new())) {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        };
        match claims.binary_search_by(|c| c.who.cmp(&claim.who)) {
            Ok(at) => claims[at] = claim,
            Err(at) => claims.insert(at, claim),
        }
        *self = Self::from(claims);
    }

    /// Takes out the claim of the pod at `key`; `false` when none is left.
    pub fn remove(&mut self, key: &ObjectRef) -> bool {
        let mut claims = match std::mem::replace(self, Self::Many(Vec::new())) {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        };
        if let Ok(at) = claims.binary_search_by(|c| c.who.order(key)) {
            claims.remove(at);
        }
        let left = !claims.is_empty();
        *self = Self::from(claims);
        left
    }

    /// Groups claims sorted by IP, each IP's in namespace/name order, as
    /// [`Claimants::insert`] would have; a pod listing one IP twice claims it once.
    pub fn grouped(claims: Vec<(IpAddr, Claim)>) -> Vec<(IpAddr, Claimants)> {
        let mut out: Vec<(IpAddr, Claimants)> = Vec::with_capacity(claims.len());
        for (ip, claim) in claims {
            let Some((last, group)) = out.last_mut().filter(|(last, _)| *last == ip) else {
                out.push((ip, Self::One(claim)));
                continue;
            };
            debug_assert_eq!(*last, ip);
            match group {
                Self::One(same) if same.who == claim.who => *same = claim,
                Self::One(first) => *group = Self::Many(vec![first.clone(), claim]),
                Self::Many(claims) => match claims.last_mut() {
                    Some(same) if same.who == claim.who => *same = claim,
                    _ => claims.push(claim),
                },
            }
        }
        out
    }
}

impl From<Vec<Claim>> for Claimants {
    fn from(mut claims: Vec<Claim>) -> Self {
        match claims.len() {
            1 => Self::One(claims.remove(0)),
            _ => Self::Many(claims),
        }
    }
}
