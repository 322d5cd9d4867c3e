//! Creating private files all-or-nothing and without ever replacing an existing one.
//! Used for the data directory and for `issue-cert`'s output.

use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

/// One file to create.
pub struct NewFile<'a> {
    pub name: &'a str,
    pub contents: &'a [u8],
    /// Permission bits, e.g. 0o600 for keys; the umask may only narrow them.
    pub mode: u32,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteFilesError {
    #[error("{}", exists_message(.0))]
    Exist(Vec<PathBuf>),
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "permissions {mode:04o} for directory {} are too open: it must not be writable by group or others (chmod 700 it)",
        path.display()
    )]
    DirPermissions { path: PathBuf, mode: u32 },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn exists_message(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let verb = if paths.len() == 1 { "exists" } else { "exist" };
    format!(
        "{}: already {verb}; refusing to overwrite",
        shown.join(", ")
    )
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteFilesError + '_ {
    move |source| WriteFilesError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `dir` (mode 0700, parents included) if missing. An existing one must be a
/// directory that others cannot write to, or they could swap the files inside it.
pub fn ensure_private_dir(dir: &Path) -> Result<(), WriteFilesError> {
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(WriteFilesError::NotADirectory(dir.to_owned())),
        Ok(meta) if meta.permissions().mode() & 0o022 != 0 => {
            Err(WriteFilesError::DirPermissions {
                path: dir.to_owned(),
                mode: meta.permissions().mode() & 0o7777,
            })
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir)),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Which of `names` exist in `dir` (symlinks included, even dangling ones).
pub fn existing(dir: &Path, names: &[&str]) -> Result<Vec<PathBuf>, WriteFilesError> {
    let mut found = Vec::new();
    for name in names {
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(_) => found.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path)(e)),
        }
    }
    Ok(found)
}

/// Creates `files` and the (mode 0700) directories `new_dirs` in the existing `dir`,
/// all of them or, on any failure, none. Refuses without writing anything if one
/// exists. Each file is written in full under a temporary name, then hard-linked to its
/// name, which fails rather than replace a file a concurrent writer created meanwhile.
pub fn write_new_files(
    dir: &Path,
    files: &[NewFile<'_>],
    new_dirs: &[&str],
) -> Result<(), WriteFilesError> {
    let names: Vec<&str> = (files.iter().map(|f| f.name))
        .chain(new_dirs.iter().copied())
        .collect();
    let found = existing(dir, &names)?;
    if !found.is_empty() {
        return Err(WriteFilesError::Exist(found));
    }
    let temp = |name: &str| dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut created: Vec<PathBuf> = Vec::new();
    let mut result = files.iter().try_for_each(|file| {
        let tmp = temp(file.name);
        write_file(&tmp, file).map_err(io_err(&tmp))
    });
    for file in files {
        if result.is_ok() {
            let (tmp, path) = (temp(file.name), dir.join(file.name));
            result = match fs::hard_link(&tmp, &path) {
                Ok(()) => {
                    created.push(path);
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    Err(WriteFilesError::Exist(vec![path]))
                }
                Err(e) => Err(io_err(&path)(e)),
            };
        }
        // Removal failures leave only a stray temporary file, not worth masking the
        // real outcome for.
        let _ = fs::remove_file(temp(file.name));
    }
    for name in new_dirs {
        if result.is_ok() {
            let path = dir.join(name);
            result = DirBuilder::new()
                .mode(0o700)
                .create(&path)
                .map_err(io_err(&path));
            if result.is_ok() {
                created.push(path);
            }
        }
    }
    if result.is_err() {
        for path in created.iter().rev() {
            let _ = fs::remove_file(path).or_else(|_| fs::remove_dir(path));
        }
        return result;
    }
    // Makes the new names durable. Best effort: some filesystems refuse to sync a
    // directory, and every file is already complete.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn write_file(path: &Path, file: &NewFile<'_>) -> io::Result<()> {
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(file.mode)
        .open(path)?;
    out.write_all(file.contents)?;
    out.sync_all()
}
