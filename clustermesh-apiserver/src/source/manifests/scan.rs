//! Reading the directory into a [`DirState`]: a full rescan, or a reload of the files an
//! event named.

use std::io::ErrorKind;
use std::path::Path;

use super::ManifestError;
use super::dir_state::{DirState, is_manifest_name};

/// Manifests are small; anything bigger is a mistake (a log or a dump given the wrong
/// name) and reading it whole into memory on every change would hurt.
const MAX_FILE_BYTES: u64 = 8 << 20;

/// Lists the directory and reloads every manifest in it; files no longer listed are
/// dropped. If the directory cannot be listed, every file keeps its objects.
pub(crate) async fn rescan(state: &mut DirState) -> bool {
    let dir = state.dir().to_path_buf();
    let names = match list(&dir).await {
        Ok(names) => names,
        Err(err) => {
            let error = ManifestError {
                file: dir,
                line: None,
                message: format!("cannot list directory: {err}"),
            };
            return state.set_dir_error(Some(error));
        }
    };
    let mut changed = state.set_dir_error(None);
    for known in state.known_files() {
        if !names.contains(&known) {
            changed |= state.remove(&known);
        }
    }
    for file in &names {
        changed |= reload(state, file).await;
    }
    changed
}

async fn list(dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut entries = tokio::fs::read_dir(dir).await?;
    let mut names = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        if is_manifest_name(&entry.file_name()) {
            names.push(dir.join(entry.file_name()));
        }
    }
    names.sort();
    Ok(names)
}

/// Reads one file into the state: gone (or a directory) means removed, unreadable means
/// an error with the previous objects kept.
pub(crate) async fn reload(state: &mut DirState, file: &Path) -> bool {
    // `metadata` follows symlinks, so a ConfigMap-style link to a file counts as a file.
    match tokio::fs::metadata(file).await {
        Ok(meta) if !meta.is_file() => return state.remove(file),
        Err(err) if err.kind() == ErrorKind::NotFound => return state.remove(file),
        Err(err) => return state.unusable(file, format!("cannot read: {err}")),
        Ok(meta) if meta.len() > MAX_FILE_BYTES => {
            let message = format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES}",
                meta.len()
            );
            return state.unusable(file, message);
        }
        Ok(_) => {}
    }
    match tokio::fs::read_to_string(file).await {
        Ok(content) => state.update(file, content),
        // Removed between the two calls: the remove event follows, but act now.
        Err(err) if err.kind() == ErrorKind::NotFound => state.remove(file),
        Err(err) => state.unusable(file, format!("cannot read: {err}")),
    }
}
