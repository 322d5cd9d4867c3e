//! The role a certificate grants. The apiserver decides per method which roles may
//! call it, so the role is the unit of authorization, not the certificate's name.

use std::{fmt, str::FromStr};

use super::IdentityError;

/// What the holder of a certificate may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A node agent: may register only its own node, and watch.
    Agent,
    /// Another cluster's apiserver: read-only access to this cluster's exports.
    Peer,
    /// An operator using `ctl`.
    Admin,
    /// The apiserver's serving certificate; never accepted from a client.
    Server,
}

impl Role {
    /// Every role, in a fixed order, for error messages and tests.
    pub const ALL: [Role; 4] = [Role::Agent, Role::Peer, Role::Admin, Role::Server];

    /// The form used in identity URIs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Peer => "peer",
            Role::Admin => "admin",
            Role::Server => "server",
        }
    }

    /// Whether certificates of this role authenticate TLS clients (as opposed to
    /// servers); decides the extended key usage the CA sets.
    pub fn is_client(self) -> bool {
        !matches!(self, Role::Server)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| IdentityError::UnknownRole(super::error::shown(s)))
    }
}
