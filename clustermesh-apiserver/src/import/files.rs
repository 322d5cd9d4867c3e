//! Peers as kept on disk, one directory per peer under the data directory's `peers/`:
//! `cluster.pb`, `ca.crt`, `client.crt` and `client.key` (0600) for a peer we import,
//! `pending.key` (0600) between CreatePeerCsr and InstallPeer, and `signed` once we
//! signed a certificate for that peer, which is what admits it to our PeerExport.

use std::{
    io,
    path::{Path, PathBuf},
};

use clustermesh_proto::{Cluster, ClusterName, pb};
use prost::Message;

use super::PeerConfig;

const CLUSTER: &str = "cluster.pb";
const CA: &str = "ca.crt";
const CERT: &str = "client.crt";
const KEY: &str = "client.key";
const PENDING_KEY: &str = "pending.key";
const SIGNED: &str = "signed";

#[derive(Debug, thiserror::Error)]
pub enum PeerFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

#[derive(Debug, Clone)]
pub struct PeerFiles {
    dir: PathBuf,
}

impl PeerFiles {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn peer_dir(&self, peer: &ClusterName) -> PathBuf {
        self.dir.join(peer.as_str())
    }

    /// Every installed peer. A damaged peer directory is reported and skipped, so one
    /// bad peer does not keep the others from being imported.
    pub fn load_all(&self) -> (Vec<PeerConfig>, Vec<PeerFileError>) {
        let mut peers = Vec::new();
        let mut errors = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (peers, errors),
            Err(source) => {
                errors.push(io_error(&self.dir, source));
                return (peers, errors);
            }
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.join(CLUSTER).exists() {
                continue;
            }
            match load(&dir) {
                Ok(peer) => peers.push(peer),
                Err(e) => errors.push(e),
            }
        }
        peers.sort_by(|a, b| a.cluster.name.cmp(&b.cluster.name));
        (peers, errors)
    }

    pub fn save_pending_key(&self, peer: &ClusterName, key_pem: &str) -> Result<(), PeerFileError> {
        let dir = self.peer_dir(peer);
        create_dir(&dir)?;
        write(&dir.join(PENDING_KEY), key_pem.as_bytes(), true)
    }

    pub fn pending_key(&self, peer: &ClusterName) -> Result<Option<String>, PeerFileError> {
        read_optional(&self.peer_dir(peer).join(PENDING_KEY))
    }

    /// Writes the peer's files and drops the pending key they replace.
    pub fn save(&self, peer: &PeerConfig) -> Result<(), PeerFileError> {
        let dir = self.peer_dir(&peer.cluster.name);
        create_dir(&dir)?;
        let cluster = pb::Cluster::from(peer.cluster.clone()).encode_to_vec();
        write(&dir.join(CA), peer.ca_pem.as_bytes(), false)?;
        write(&dir.join(CERT), peer.cert_pem.as_bytes(), false)?;
        write(&dir.join(KEY), peer.key_pem.as_bytes(), true)?;
        // Last, because its presence is what marks the peer as installed.
        write(&dir.join(CLUSTER), &cluster, false)?;
        remove_file(&dir.join(PENDING_KEY))
    }

    pub fn mark_signed(&self, peer: &ClusterName) -> Result<(), PeerFileError> {
        let dir = self.peer_dir(peer);
        create_dir(&dir)?;
        write(&dir.join(SIGNED), b"", false)
    }

    pub fn is_signed(&self, peer: &ClusterName) -> bool {
        self.peer_dir(peer).join(SIGNED).exists()
    }

    /// Forgets the peer entirely: import settings, keys, and its admission.
    pub fn remove(&self, peer: &ClusterName) -> Result<(), PeerFileError> {
        let dir = self.peer_dir(peer);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(io_error(&dir, source)),
        }
    }
}

fn load(dir: &Path) -> Result<PeerConfig, PeerFileError> {
    let path = dir.join(CLUSTER);
    let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
    let invalid = |reason: String| PeerFileError::Invalid {
        path: path.clone(),
        reason,
    };
    let msg = pb::Cluster::decode(bytes.as_slice()).map_err(|e| invalid(e.to_string()))?;
    let cluster = Cluster::try_from(msg).map_err(|e| invalid(e.to_string()))?;
    let text = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))
    };
    Ok(PeerConfig {
        cluster,
        ca_pem: text(CA)?,
        cert_pem: text(CERT)?,
        key_pem: text(KEY)?,
    })
}

fn create_dir(dir: &Path) -> Result<(), PeerFileError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
fn write(path: &Path, contents: &[u8], private: bool) -> Result<(), PeerFileError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

fn read_optional(path: &Path) -> Result<Option<String>, PeerFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(io_error(path, source)),
    }
}

fn remove_file(path: &Path) -> Result<(), PeerFileError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_error(path, source)),
    }
}

fn io_error(path: &Path, source: io::Error) -> PeerFileError {
    PeerFileError::Io {
        path: path.to_owned(),
        source,
    }
}
