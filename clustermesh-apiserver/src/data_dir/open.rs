//! Loading a data directory, refusing anything that would fail later or serve with
//! the wrong identity.

use std::{
    fs, io,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use clustermesh_proto::tls::{self, ClusterCa, Role, TlsError};

use super::{
    ADMIN_CERT_FILE, ADMIN_KEY_FILE, CA_CERT_FILE, CA_KEY_FILE, CLUSTER_FILE, ClusterIdentity,
    DataDir, DataDirError, LoadedDataDir, SERVER_CERT_FILE, SERVER_KEY_FILE, verify,
};

pub(super) fn open(path: &Path) -> Result<LoadedDataDir, DataDirError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(DataDirError::invalid(path, "not a directory")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(DataDirError::NotFound(path.to_owned()));
        }
        Err(e) => return Err(DataDirError::io(path)(e)),
    }
    let dir = DataDir::new(path);
    let cluster_path = dir.file(CLUSTER_FILE);
    let cluster_yaml = match fs::read_to_string(&cluster_path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(DataDirError::NotInitialized {
                dir: path.to_owned(),
                file: CLUSTER_FILE,
            });
        }
        read => read.map_err(DataDirError::io(&cluster_path))?,
    };
    let identity = ClusterIdentity::parse(&cluster_path, &cluster_yaml)?;
    let cluster = &identity.name;

    // Modes first, so a key readable by others is refused before it is even read.
    let (ca_key_path, server_key_path) = (dir.file(CA_KEY_FILE), dir.file(SERVER_KEY_FILE));
    check_key_mode(&ca_key_path)?;
    check_key_mode(&server_key_path)?;

    let ca_cert_path = dir.file(CA_CERT_FILE);
    let ca_pem = read(&ca_cert_path)?;
    let ca = ClusterCa::from_pem(&ca_pem, &read(&ca_key_path)?).map_err(|source| {
        let path = if what(&source) == "CA key PEM" {
            &ca_key_path
        } else {
            &ca_cert_path
        };
        DataDirError::Tls {
            path: path.clone(),
            source,
        }
    })?;
    if ca.cluster() != cluster {
        return Err(DataDirError::invalid(
            &ca_cert_path,
            format!(
                "the CA belongs to cluster {}, but {CLUSTER_FILE} names cluster {cluster}",
                ca.cluster()
            ),
        ));
    }

    let server_cert_path = dir.file(SERVER_CERT_FILE);
    let server_cert_pem = read(&server_cert_path)?;
    let server_key_pem = read(&server_key_path)?;
    verify::issued_by(
        &server_cert_path,
        &server_cert_pem,
        &ca_pem,
        cluster,
        Role::Server,
    )?;
    // The same check the server makes when it starts: the key matches the certificate.
    tls::server_tls(&server_cert_pem, &server_key_pem, &ca_pem).map_err(|source| {
        let path = if what(&source) == "server certificate PEM" {
            &server_cert_path
        } else {
            &server_key_path
        };
        DataDirError::Tls {
            path: path.clone(),
            source,
        }
    })?;

    check_admin_files(&dir, &ca_pem, cluster)?;
    Ok(LoadedDataDir {
        dir,
        identity,
        ca,
        server_cert_pem,
        server_key_pem,
    })
}

/// The admin files may have been moved off the server; those still here must be right.
fn check_admin_files(
    dir: &DataDir,
    ca_pem: &str,
    cluster: &clustermesh_proto::ClusterName,
) -> Result<(), DataDirError> {
    let key = dir.file(ADMIN_KEY_FILE);
    if key.exists() {
        check_key_mode(&key)?;
    }
    let cert = dir.file(ADMIN_CERT_FILE);
    if cert.exists() {
        verify::issued_by(&cert, &read(&cert)?, ca_pem, cluster, Role::Admin)?;
    }
    Ok(())
}

/// Refuses a key file that group or others may access, as ssh does.
fn check_key_mode(path: &PathBuf) -> Result<(), DataDirError> {
    let meta = fs::metadata(path).map_err(DataDirError::io(path))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(DataDirError::KeyPermissions {
            path: path.clone(),
            mode,
        });
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, DataDirError> {
    fs::read_to_string(path).map_err(DataDirError::io(path))
}

/// The input a TLS error names ("CA key PEM", "server certificate PEM", ...).
fn what(error: &TlsError) -> &str {
    match error {
        TlsError::PemMissing { what, .. }
        | TlsError::PemMalformed { what, .. }
        | TlsError::Invalid { what, .. } => what,
        _ => "",
    }
}
