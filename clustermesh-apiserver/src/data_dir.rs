//! The apiserver's data directory: the cluster's identity, its CA, the serving and
//! admin certificates, and room for peer connections and the raft store.
//!
//! ```text
//! cluster.yaml           name, id, advertise address, declared pod CIDRs
//! ca.crt    ca.key       the cluster's CA
//! server.crt server.key  the apiserver's serving (and raft replication) certificate
//! admin.crt admin.key    the first admin identity, for ctl
//! peers/                 peer connections
//! store/                 the raft database
//! ```
//!
//! Keys are mode 0600 and a directory created here is 0700. [`DataDir::init`] creates
//! all of it or nothing; [`DataDir::open`] refuses anything inconsistent, before the
//! apiserver binds a port.

mod error;
mod files;
mod identity;
mod init;
mod open;
mod verify;

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clustermesh_proto::tls::ClusterCa;

pub use self::{
    error::DataDirError,
    files::{NewFile, WriteFilesError, ensure_private_dir, write_new_files},
    identity::ClusterIdentity,
};

/// How long `init` and `issue-cert` certificates are valid. A year bounds the use of a
/// leaked key without asking operators to rotate more than yearly; the CA itself lives
/// ten years ([`clustermesh_proto::tls::CA_VALIDITY`]).
pub const LEAF_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The identity name of the serving certificate; its role already says "server".
pub const SERVER_CERT_NAME: &str = "apiserver";

/// The identity name of the admin certificate `init` creates.
pub const ADMIN_CERT_NAME: &str = "admin";

pub const CLUSTER_FILE: &str = "cluster.yaml";
pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVER_CERT_FILE: &str = "server.crt";
pub const SERVER_KEY_FILE: &str = "server.key";
pub const ADMIN_CERT_FILE: &str = "admin.crt";
pub const ADMIN_KEY_FILE: &str = "admin.key";
pub const PEERS_DIR: &str = "peers";
pub const STORE_DIR: &str = "store";

/// Every entry `init` creates; any one already present means "initialized".
pub const ENTRIES: [&str; 9] = [
    CLUSTER_FILE,
    CA_CERT_FILE,
    CA_KEY_FILE,
    SERVER_CERT_FILE,
    SERVER_KEY_FILE,
    ADMIN_CERT_FILE,
    ADMIN_KEY_FILE,
    PEERS_DIR,
    STORE_DIR,
];

/// Where a data directory's files are; nothing is read or checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Creates the data directory of a new cluster at `path`: CA, serving and admin
    /// certificates, `cluster.yaml` and the reserved subdirectories. Refuses, changing
    /// nothing, if `path` already holds any of them.
    pub fn init(path: &Path, identity: ClusterIdentity) -> Result<LoadedDataDir, DataDirError> {
        init::init(path, identity)
    }

    /// Loads and checks an initialized data directory.
    pub fn open(path: &Path) -> Result<LoadedDataDir, DataDirError> {
        open::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Peer connections live here.
    pub fn peers_dir(&self) -> PathBuf {
        self.file(PEERS_DIR)
    }

    /// The raft database lives here.
    pub fn store_dir(&self) -> PathBuf {
        self.file(STORE_DIR)
    }
}

/// The files of the admin identity `init` created, for a ctl context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCertPaths {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A data directory whose contents were loaded and checked.
#[derive(Debug)]
pub struct LoadedDataDir {
    dir: DataDir,
    identity: ClusterIdentity,
    ca: ClusterCa,
    server_cert_pem: String,
    server_key_pem: String,
}

impl LoadedDataDir {
    pub fn dir(&self) -> &DataDir {
        &self.dir
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn identity(&self) -> &ClusterIdentity {
        &self.identity
    }

    pub fn ca(&self) -> &ClusterCa {
        &self.ca
    }

    pub fn ca_pem(&self) -> &str {
        self.ca.cert_pem()
    }

    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }

    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    pub fn peers_dir(&self) -> PathBuf {
        self.dir.peers_dir()
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.store_dir()
    }

    /// The admin files `init` wrote. They are not needed to run, so an operator may
    /// have moved them elsewhere; `open` checks them only when they are present.
    pub fn admin_cert_paths(&self) -> AdminCertPaths {
        AdminCertPaths {
            ca_cert: self.dir.file(CA_CERT_FILE),
            cert: self.dir.file(ADMIN_CERT_FILE),
            key: self.dir.file(ADMIN_KEY_FILE),
        }
    }
}

#[cfg(test)]
mod tests;
