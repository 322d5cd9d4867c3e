//! The node's WireGuard key pair, kept in the state directory across restarts: a new key
//! would invalidate every peer's configuration of us until the apiserver spreads it.
//!
//! `private.key` holds the base64 private key (the `wg genkey` format), mode 0600,
//! written atomically; `public.key` is derived from it and only there for operators.

use std::{
    fmt,
    fs::{self, OpenOptions, Permissions},
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use clustermesh_proto::WireGuardKey;
use tracing::info;
use wireguard_control::Key;

use super::WireGuardError;

pub const PRIVATE_KEY_FILE: &str = "private.key";
pub const PUBLIC_KEY_FILE: &str = "public.key";

/// The node's key pair. `Debug` shows only the public half: the private key is never
/// logged, printed or sent anywhere but to the local device.
#[derive(Clone)]
pub struct NodeKeys {
    private: Key,
    public: WireGuardKey,
}

impl NodeKeys {
    /// Loads the key pair from `dir`, generating it on first start. Refuses a private
    /// key file that group or others may access.
    pub fn load_or_generate(dir: &Path) -> Result<Self, WireGuardError> {
        let path = dir.join(PRIVATE_KEY_FILE);
        let keys = match fs::metadata(&path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 {
                    return Err(WireGuardError::KeyPermissions { path, mode });
                }
                let text = fs::read_to_string(&path).map_err(io_at(&path))?;
                let private = Key::from_base64(text.trim())
                    .map_err(|_| WireGuardError::InvalidKey { path: path.clone() })?;
                Self::from_private(private)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(dir).map_err(io_at(dir))?;
                let keys = Self::from_private(Key::generate_private());
                write_atomically(&path, &keys.private.to_base64(), 0o600)?;
                info!(dir = %dir.display(), public_key = %keys.public, "generated a new WireGuard key pair");
                keys
            }
            Err(e) => return Err(io_at(&path)(e)),
        };
        // Derived from the private key, so a stale or edited public.key is rewritten.
        let public_path = dir.join(PUBLIC_KEY_FILE);
        let public_text = keys.public.to_string();
        if fs::read_to_string(&public_path)
            .ok()
            .as_deref()
            .map(str::trim)
            != Some(&public_text)
        {
            write_atomically(&public_path, &public_text, 0o644)?;
        }
        Ok(keys)
    }

    fn from_private(private: Key) -> Self {
        let public = WireGuardKey::new(private.get_public().0);
        Self { private, public }
    }

    pub fn public(&self) -> WireGuardKey {
        self.public
    }

    /// Only for programming the local device.
    pub(crate) fn private(&self) -> &Key {
        &self.private
    }
}

impl fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeys")
            .field("public", &self.public)
            .field("private", &"<redacted>")
            .finish()
    }
}

/// Writes `text` to a temporary file with `mode` from the start (the key is never
/// readable by others, not even briefly), syncs it and renames it over `path`, so a
/// crash leaves either the old file or the new one, never half a key.
fn write_atomically(path: &Path, text: &str, mode: u32) -> Result<(), WireGuardError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    // A leftover from a crashed earlier run with our PID would make create_new fail.
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_at(&tmp))?;
    let written = file
        .write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.set_permissions(Permissions::from_mode(mode)))
        .and_then(|()| file.sync_all());
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_at(path)(e));
    }
    // Make the rename itself durable.
    if let Some(dir) = path.parent() {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_at(dir))?;
    }
    Ok(())
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WireGuardError + '_ {
    move |source| WireGuardError::Io {
        path: PathBuf::from(path),
        source,
    }
}

#[cfg(test)]
mod tests;
