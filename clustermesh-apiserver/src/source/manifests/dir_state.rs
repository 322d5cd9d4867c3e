//! What the source knows about each file of the directory, and the merge of all files
//! into one [`ClusterObjects`]. Pure: the file-system side lives in `scan.rs`.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::ManifestError;
use super::object::SourceObject;
use super::parse::parse_manifests;
use crate::source::ClusterObjects;

/// Whether a directory entry is a manifest, by name, as `kubectl apply -f DIR` decides.
/// Hidden files are skipped too: editors write their swap and temporary files there.
pub(crate) fn is_manifest_name(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    !name.starts_with('.')
        && [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

#[derive(Debug, Default)]
struct FileEntry {
    /// The content last read, good or bad, so that a rewrite with the same bytes (or a
    /// full rescan) costs no parse and publishes nothing.
    content: Option<String>,
    /// The objects of the last content that parsed: they stay in force through errors.
    objects: Vec<SourceObject>,
    error: Option<ManifestError>,
}

/// Per-file state of a manifest directory. Each mutator returns whether anything that
/// the merged view depends on changed.
#[derive(Debug)]
pub(crate) struct DirState {
    dir: PathBuf,
    files: BTreeMap<PathBuf, FileEntry>,
    /// Set while the directory itself cannot be listed; the files keep their objects.
    dir_error: Option<ManifestError>,
}

impl DirState {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            files: BTreeMap::new(),
            dir_error: None,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn known_files(&self) -> Vec<PathBuf> {
        self.files.keys().cloned().collect()
    }

    /// Records freshly read content of `file`. On a parse error the previous objects stay.
    pub(crate) fn update(&mut self, file: &Path, content: String) -> bool {
        let entry = self.files.entry(file.to_path_buf()).or_default();
        if entry.content.as_deref() == Some(content.as_str()) {
            return false;
        }
        match parse_manifests(file, &content) {
            Ok(objects) => {
                entry.objects = objects;
                entry.error = None;
            }
            Err(err) => entry.error = Some(err),
        }
        entry.content = Some(content);
        true
    }

    /// Records that `file` exists but could not be used (unreadable, too large); its
    /// previous objects stay.
    pub(crate) fn unusable(&mut self, file: &Path, message: String) -> bool {
        let error = ManifestError {
            file: file.to_path_buf(),
            line: None,
            message,
        };
        let entry = self.files.entry(file.to_path_buf()).or_default();
        // Forget the content so that the next successful read is parsed again.
        entry.content = None;
        let changed = entry.error.as_ref() != Some(&error);
        entry.error = Some(error);
        changed
    }

    /// The file is gone: its objects go with it.
    pub(crate) fn remove(&mut self, file: &Path) -> bool {
        self.files.remove(file).is_some()
    }

    pub(crate) fn has_dir_error(&self) -> bool {
        self.dir_error.is_some()
    }

    pub(crate) fn set_dir_error(&mut self, error: Option<ManifestError>) -> bool {
        let changed = self.dir_error != error;
        self.dir_error = error;
        changed
    }

    /// Merges every file's objects. Files are taken in lexical order and the first
    /// definition of an object wins, so the result does not depend on event order; each
    /// later definition is reported as an error naming both places.
    pub(crate) fn merged(&self) -> (ClusterObjects, Vec<ManifestError>) {
        let mut objects = ClusterObjects::default();
        let mut errors: Vec<ManifestError> = self.dir_error.iter().cloned().collect();
        let mut seen = BTreeMap::new();
        for (file, entry) in &self.files {
            errors.extend(entry.error.iter().cloned());
            for object in &entry.objects {
                match seen.entry(object.object.key()) {
                    Entry::Vacant(slot) => {
                        slot.insert((file, object.line));
                        object.object.insert_into(&mut objects);
                    }
                    Entry::Occupied(first) => {
                        let (first_file, first_line) = first.get();
                        errors.push(ManifestError {
                            file: file.clone(),
                            line: Some(object.line),
                            message: format!(
                                "{} is also defined at {}:{first_line}, which takes precedence",
                                first.key(),
                                first_file.display()
                            ),
                        });
                    }
                }
            }
        }
        (objects, errors)
    }
}
