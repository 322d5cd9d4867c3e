//! Writing the config without ever leaving a truncated or world-readable file behind.

use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::Path,
    process,
    sync::atomic::{AtomicU64, Ordering},
};

/// Distinguishes temporary files of concurrent saves within one process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Writes `contents` to a new mode-0600 file next to `path`, then renames it over
/// `path`: readers see the old file or the new one, never a partial one.
pub(super) fn atomic_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        file_name.to_string_lossy(),
        process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_new(&tmp, contents).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        // The temporary file is ours and useless now; a failure to remove it changes
        // nothing about the error worth reporting.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // Makes the rename itself durable. Best effort: some filesystems refuse to sync a
    // directory, and the new file is already complete either way.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
