//! Creating a new cluster's data directory.

use std::path::Path;

use clustermesh_proto::tls::{ClusterCa, Role, TlsError};

use super::{
    ADMIN_CERT_FILE, ADMIN_CERT_NAME, ADMIN_KEY_FILE, CA_CERT_FILE, CA_KEY_FILE, CLUSTER_FILE,
    ClusterIdentity, DataDir, DataDirError, LEAF_VALIDITY, LoadedDataDir, NewFile, PEERS_DIR,
    SERVER_CERT_FILE, SERVER_CERT_NAME, SERVER_KEY_FILE, STORE_DIR, WriteFilesError, files,
};

/// Names the serving certificate carries besides `apiserver.<cluster>.clustermesh`:
/// the loopback names, so local tools and replicas on one host can dial it.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub(super) fn init(path: &Path, identity: ClusterIdentity) -> Result<LoadedDataDir, DataDirError> {
    identity
        .validate()
        .map_err(|reason| DataDirError::invalid(path.join(CLUSTER_FILE), reason))?;
    // Checked before generating anything, for a prompt answer; `write_new_files`
    // checks again, atomically, when it creates the files.
    let already = |dir: &Path, found: Vec<std::path::PathBuf>| {
        let names: Vec<String> = found
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        DataDirError::AlreadyInitialized {
            dir: dir.to_owned(),
            existing: names.join(", "),
        }
    };
    if path.is_dir() {
        let found = files::existing(path, &super::ENTRIES).map_err(DataDirError::Write)?;
        if !found.is_empty() {
            return Err(already(path, found));
        }
    }
    files::ensure_private_dir(path).map_err(DataDirError::Write)?;
    // Absolute, so the paths handed to the ctl config work from any directory.
    let path = &path.canonicalize().map_err(DataDirError::io(path))?;

    let name = &identity.name;
    let generate = |what: &str| {
        let what = format!("generating the {what} of cluster {name}");
        move |source: TlsError| DataDirError::Generate { what, source }
    };
    let ca = ClusterCa::generate(name).map_err(generate("CA"))?;
    let mut server_names: Vec<String> = identity
        .advertise
        .iter()
        .map(|a| a.host().to_owned())
        .collect();
    // `issue` drops duplicates, e.g. an advertise address of 127.0.0.1.
    server_names.extend(LOOPBACK_NAMES.map(String::from));
    let server = ca
        .issue(Role::Server, SERVER_CERT_NAME, &server_names, LEAF_VALIDITY)
        .map_err(generate("serving certificate"))?;
    let admin = ca
        .issue(Role::Admin, ADMIN_CERT_NAME, &[], LEAF_VALIDITY)
        .map_err(generate("admin certificate"))?;
    let cluster_yaml = identity
        .to_yaml()
        .map_err(|reason| DataDirError::invalid(path.join(CLUSTER_FILE), reason))?;
    let ca_key = ca.key_pem();

    // cluster.yaml last: it is what marks the directory as initialized.
    let new_files = [
        public(CA_CERT_FILE, ca.cert_pem()),
        private(CA_KEY_FILE, &ca_key),
        public(SERVER_CERT_FILE, &server.cert_pem),
        private(SERVER_KEY_FILE, &server.key_pem),
        public(ADMIN_CERT_FILE, &admin.cert_pem),
        private(ADMIN_KEY_FILE, &admin.key_pem),
        public(CLUSTER_FILE, &cluster_yaml),
    ];
    files::write_new_files(path, &new_files, &[PEERS_DIR, STORE_DIR]).map_err(|e| match e {
        WriteFilesError::Exist(found) => already(path, found),
        other => DataDirError::Write(other),
    })?;
    Ok(LoadedDataDir {
        dir: DataDir::new(path),
        identity,
        ca,
        server_cert_pem: server.cert_pem,
        server_key_pem: server.key_pem,
    })
}

fn public<'a>(name: &'a str, contents: &'a str) -> NewFile<'a> {
    NewFile {
        name,
        contents: contents.as_bytes(),
        mode: 0o644,
    }
}

fn private<'a>(name: &'a str, contents: &'a str) -> NewFile<'a> {
    NewFile {
        name,
        contents: contents.as_bytes(),
        mode: 0o600,
    }
}
