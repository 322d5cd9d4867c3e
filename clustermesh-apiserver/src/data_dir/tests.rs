use std::{collections::BTreeMap, fs, os::unix::fs::PermissionsExt, path::Path};

use clustermesh_proto::{ClusterName, tls::Role};

use super::*;

fn identity(name: &str) -> ClusterIdentity {
    ClusterIdentity {
        name: ClusterName::new(name).expect("valid name"),
        id: "7".parse().expect("valid id"),
        advertise: Some("mesh.example.com:7443".parse().expect("valid")),
        pod_cidrs: vec!["10.1.0.0/16".parse().expect("valid")],
    }
}

fn new_dir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("data");
    DataDir::init(&path, identity(name)).expect("init");
    (tmp, path)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Every file under `dir` and its contents, to prove a refusal changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).expect("list").filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let contents = fs::read(entry.path()).unwrap_or_default();
        files.insert(name, contents);
    }
    files
}

fn open_err(path: &Path) -> String {
    DataDir::open(path)
        .expect_err("must be refused")
        .to_string()
}

#[test]
fn init_creates_a_private_complete_directory() {
    let (_tmp, path) = new_dir("a");
    assert_eq!(mode(&path), 0o700);
    for key in [CA_KEY_FILE, SERVER_KEY_FILE, ADMIN_KEY_FILE] {
        assert_eq!(mode(&path.join(key)), 0o600, "{key}");
    }
    for dir in [PEERS_DIR, STORE_DIR] {
        assert!(path.join(dir).is_dir(), "{dir}");
    }
    let names: Vec<String> = snapshot(&path).into_keys().collect();
    assert_eq!(
        names.len(),
        ENTRIES.len(),
        "no temporary files left: {names:?}"
    );

    let loaded = DataDir::open(&path).expect("opens");
    assert_eq!(loaded.identity(), &identity("a"));
    assert_eq!(loaded.ca().cluster(), "a");
    assert_eq!(loaded.store_dir(), path.join(STORE_DIR));
    assert_eq!(loaded.peers_dir(), path.join(PEERS_DIR));
    let admin = loaded.admin_cert_paths();
    assert_eq!(admin.key, path.join(ADMIN_KEY_FILE));
    let yaml = fs::read_to_string(path.join(CLUSTER_FILE)).expect("read");
    assert!(yaml.contains("advertise: mesh.example.com:7443"), "{yaml}");
}

#[test]
fn server_certificate_names_the_apiserver_advertise_and_loopback() {
    let (_tmp, path) = new_dir("a");
    let pem = fs::read(path.join(SERVER_CERT_FILE)).expect("read");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("pem");
    let cert = pem.parse_x509().expect("x509");
    let san = cert
        .subject_alternative_name()
        .expect("san")
        .expect("present");
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    let all = names.join(" ");
    for expected in [
        "apiserver.a.clustermesh",
        "mesh.example.com",
        "localhost",
        "IPAddress(7f:00:00:01)",
    ] {
        assert!(all.contains(expected), "{expected} not in {all}");
    }
    let id = clustermesh_proto::tls::PeerIdentity::from_der(&pem.contents).expect("identity");
    assert_eq!(id.role, Role::Server);
}

#[test]
fn init_refuses_an_initialized_directory_and_changes_nothing() {
    let (_tmp, path) = new_dir("a");
    let before = snapshot(&path);
    let err = DataDir::init(&path, identity("b")).expect_err("second init");
    assert!(
        matches!(err, DataDirError::AlreadyInitialized { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ca.key"), "{err}");
    assert_eq!(snapshot(&path), before);
}

#[test]
fn init_refuses_when_any_entry_exists() {
    for entry in [CA_KEY_FILE, STORE_DIR, CLUSTER_FILE] {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::create_dir(tmp.path().join(entry)).expect("mkdir");
        let before = snapshot(tmp.path());
        let err = DataDir::init(tmp.path(), identity("a"))
            .expect_err(entry)
            .to_string();
        assert!(err.contains(entry), "{err}");
        assert_eq!(snapshot(tmp.path()), before, "{entry}");
    }
}

#[test]
fn init_refuses_overlapping_pod_cidrs_before_writing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut id = identity("a");
    id.pod_cidrs.push("10.1.2.0/24".parse().expect("valid"));
    let err = DataDir::init(tmp.path(), id)
        .expect_err("overlap")
        .to_string();
    assert!(err.contains("overlap"), "{err}");
    assert!(snapshot(tmp.path()).is_empty());
}

#[test]
fn init_refuses_a_directory_others_can_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let err = DataDir::init(tmp.path(), identity("a"))
        .expect_err("open dir")
        .to_string();
    assert!(err.contains("0777") && err.contains("chmod 700"), "{err}");
}

#[test]
fn open_explains_missing_and_uninitialized_directories() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = open_err(&tmp.path().join("nope"));
    assert!(
        err.contains("does not exist") && err.contains("init"),
        "{err}"
    );
    let err = open_err(tmp.path());
    assert!(
        err.contains("not initialized") && err.contains(CLUSTER_FILE),
        "{err}"
    );
}

#[test]
fn open_refuses_keys_others_can_read() {
    for key in [CA_KEY_FILE, SERVER_KEY_FILE, ADMIN_KEY_FILE] {
        let (_tmp, path) = new_dir("a");
        fs::set_permissions(path.join(key), fs::Permissions::from_mode(0o640)).expect("chmod");
        let err = open_err(&path);
        assert!(err.contains(key) && err.contains("0640"), "{err}");
    }
}

#[test]
fn open_refuses_a_ca_of_another_cluster() {
    let (_tmp, path) = new_dir("a");
    let (_tmp_b, other) = new_dir("b");
    for file in [CA_CERT_FILE, CA_KEY_FILE] {
        fs::copy(other.join(file), path.join(file)).expect("copy");
    }
    let err = open_err(&path);
    assert!(
        err.contains("belongs to cluster b") && err.contains(CA_CERT_FILE),
        "{err}"
    );
}

#[test]
fn open_refuses_a_server_certificate_from_another_ca() {
    let (_tmp, path) = new_dir("a");
    let (_tmp2, other) = new_dir("a");
    for file in [SERVER_CERT_FILE, SERVER_KEY_FILE] {
        fs::copy(other.join(file), path.join(file)).expect("copy");
    }
    let err = open_err(&path);
    assert!(
        err.contains(SERVER_CERT_FILE) && err.contains("not issued by"),
        "{err}"
    );
}

#[test]
fn open_refuses_mismatched_or_garbage_files() {
    let (_tmp, path) = new_dir("a");
    fs::copy(path.join(ADMIN_KEY_FILE), path.join(SERVER_KEY_FILE)).expect("copy");
    let err = open_err(&path);
    assert!(err.contains(SERVER_KEY_FILE), "{err}");

    let cases = [
        (CA_CERT_FILE, "garbage".as_bytes()),
        (
            CA_KEY_FILE,
            b"-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n",
        ),
        (SERVER_CERT_FILE, &[0xff, 0xfe, 0x00]),
        (
            ADMIN_CERT_FILE,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ),
        (CLUSTER_FILE, b"name: a\nid: 7\nextra: 1\n"),
        (CLUSTER_FILE, b"name: a\nid: 0\n"),
    ];
    for (file, contents) in cases {
        let (_tmp, path) = new_dir("a");
        fs::write(path.join(file), contents).expect("write");
        let err = open_err(&path);
        assert!(err.contains(file), "{file}: {err}");
    }
}

#[test]
fn write_new_files_is_all_or_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("b"), "old").expect("write");
    let file = |name| NewFile {
        name,
        contents: b"new",
        mode: 0o600,
    };
    let err = write_new_files(tmp.path(), &[file("a"), file("b")], &["d"]).expect_err("exists");
    assert!(
        matches!(&err, WriteFilesError::Exist(found) if found.len() == 1),
        "{err}"
    );
    assert_eq!(snapshot(tmp.path()).len(), 1);
    assert_eq!(fs::read(tmp.path().join("b")).expect("read"), b"old");
}
