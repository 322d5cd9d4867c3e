//! Runs the real `clustermesh-apiserver` binary: init, issue-cert and refusals of bad
//! flags, with a private HOME and ctl config per test.

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use clustermesh_proto::{
    client_config::ClientConfig,
    tls::{PeerIdentity, Role},
};

struct Env {
    tmp: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    fn ctl_config(&self) -> PathBuf {
        self.path("home/.config/clustermesh/config.yaml")
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clustermesh-apiserver"));
        // Only what the test sets may configure the binary.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CLUSTERMESH_") {
                command.env_remove(key);
            }
        }
        let output = command
            .args(args)
            .env("HOME", self.path("home"))
            .env_remove("RUST_LOG")
            .output()
            .expect("runs the binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        output
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?} failed: {stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a command that must fail, and returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(!output.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    fn init(&self, name: &str, dir: &str) -> String {
        let data = self.path(dir);
        let data = data.to_str().expect("utf-8 path");
        self.ok(&[
            "init",
            "--cluster-name",
            name,
            "--cluster-id",
            "1",
            "--data-dir",
            data,
        ])
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| {
            let contents = fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), contents)
        })
        .collect()
}

fn identity_of(cert: &Path) -> PeerIdentity {
    let pem = fs::read(cert).expect("read certificate");
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).expect("PEM");
    PeerIdentity::from_der(&pem.contents).expect("identity")
}

#[test]
fn init_creates_private_files_and_a_usable_context() {
    let env = Env::new();
    let stdout = env.init("a", "data");
    assert!(stdout.contains("added context a"), "{stdout}");
    let data = env.path("data");
    assert_eq!(mode(&data), 0o700);
    for key in ["ca.key", "server.key", "admin.key"] {
        assert_eq!(mode(&data.join(key)), 0o600, "{key}");
    }
    for file in [
        "cluster.yaml",
        "ca.crt",
        "server.crt",
        "admin.crt",
        "peers",
        "store",
    ] {
        assert!(data.join(file).exists(), "{file}");
    }
    assert_eq!(mode(&env.ctl_config()), 0o600);

    let config = ClientConfig::load(&env.ctl_config()).expect("loads");
    let context = config.context(None).expect("current context");
    assert_eq!(context.name, "a");
    assert_eq!(context.server.to_string(), "127.0.0.1:7443");
    assert!(context.client_key.is_absolute(), "{:?}", context.client_key);
    context.client_tls().expect("usable TLS config");
    let admin = identity_of(&context.client_certificate);
    assert_eq!(
        (admin.role, admin.issuer_cluster.as_str()),
        (Role::Admin, "a")
    );
}

#[test]
fn init_twice_refuses_and_changes_nothing() {
    let env = Env::new();
    env.init("a", "data");
    let data_before = snapshot(&env.path("data"));
    let config_before = fs::read(env.ctl_config()).expect("read");
    let data = env.path("data");
    let stderr = env.fails(&[
        "init",
        "--cluster-name=b",
        "--cluster-id=2",
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert!(stderr.contains("already initialized"), "{stderr}");
    assert_eq!(snapshot(&env.path("data")), data_before);
    assert_eq!(fs::read(env.ctl_config()).expect("read"), config_before);
}

#[test]
fn two_clusters_add_two_contexts() {
    let env = Env::new();
    env.init("a", "data-a");
    let stdout = env.init("b", "data-b");
    assert!(stdout.contains("current context is still a"), "{stdout}");
    let config = ClientConfig::load(&env.ctl_config()).expect("loads");
    let names: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(config.context(None).expect("current").name, "a");
    let b = config.context(Some("b")).expect("b");
    assert!(
        b.certificate_authority
            .starts_with(env.path("data-b").canonicalize().expect("abs"))
    );
    b.client_tls().expect("usable TLS config");
}

#[test]
fn issue_cert_puts_role_and_name_in_the_certificate() {
    let env = Env::new();
    env.init("a", "data");
    let (data, out) = (env.path("data"), env.path("out"));
    let args = [
        "issue-cert",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--role",
        "agent",
        "--name",
        "node-1",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    let stdout = env.ok(&args);
    assert!(stdout.contains("clustermesh://a/agent/node-1"), "{stdout}");
    let id = identity_of(&out.join("tls.crt"));
    assert_eq!((id.role, id.name.as_str()), (Role::Agent, "node-1"));
    assert_eq!(id.issuer_cluster, "a");
    assert_eq!(mode(&out.join("tls.key")), 0o600);
    assert_eq!(
        fs::read(out.join("ca.crt")).ok(),
        fs::read(data.join("ca.crt")).ok()
    );

    let before = snapshot(&out);
    let stderr = env.fails(&args);
    assert!(
        stderr.contains("--out") && stderr.contains("already exist"),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), before);
}

#[test]
fn bad_flags_are_refused_by_name() {
    let env = Env::new();
    env.init("a", "data");
    let data = env.path("data");
    let data = data.to_str().expect("utf-8");
    let manifests = env.path("manifests");
    fs::create_dir(&manifests).expect("mkdir");
    let source = format!("manifests:{}", manifests.display());
    let missing = env.path("missing");
    let missing = missing.to_str().expect("utf-8");
    let init = |name: &str, id: &str| {
        let dir = env.path("new");
        let args = [
            "init",
            "--cluster-name",
            name,
            "--cluster-id",
            id,
            "--data-dir",
        ];
        let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        args.push(dir.display().to_string());
        args
    };
    let issue = |role: &str, name: &str| {
        [
            "issue-cert",
            "--data-dir",
            data,
            "--role",
            role,
            "--name",
            name,
            "--out",
            missing,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let run = |source: &str, data_dir: &str| {
        [
            "run",
            "--listen",
            "127.0.0.1:0",
            "--source",
            source,
            "--data-dir",
            data_dir,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let cases: Vec<(Vec<String>, &[&str])> = vec![
        (init("a", "0"), &["--cluster-id", "out of range"]),
        (init("a", "256"), &["--cluster-id", "out of range"]),
        (init("a", "x"), &["--cluster-id"]),
        (
            init("Bad_Name", "1"),
            &["--cluster-name", "invalid cluster name"],
        ),
        (init("default", "1"), &["--cluster-name", "reserved"]),
        (issue("wizard", "n"), &["--role", "unknown role \"wizard\""]),
        (issue("peer", "b"), &["--role", "ctl connect"]),
        (issue("server", "x"), &["--role", "init"]),
        (
            issue("agent", "bad/name"),
            &["--name", "invalid agent name"],
        ),
        (run("git:repo", data), &["--source", "\"git:repo\""]),
        (run(&source, missing), &["--data-dir", "does not exist"]),
        (
            run("kube", data)
                .into_iter()
                .chain(["--store=x".into()])
                .collect(),
            &["--store"],
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = env.fails(&args);
        for part in expected {
            assert!(stderr.contains(part), "{args:?}: {part:?} not in {stderr}");
        }
    }
    assert!(
        !env.path("new").exists(),
        "a refused init created its directory"
    );
    assert!(
        !Path::new(missing).exists(),
        "a refused issue-cert created --out"
    );
}

#[test]
fn errors_print_their_chain() {
    let env = Env::new();
    let missing = env.path("missing");
    let stderr = env.fails(&[
        "run",
        "--listen=127.0.0.1:0",
        "--source=kube",
        "--data-dir",
        missing.to_str().expect("utf-8"),
    ]);
    assert!(stderr.starts_with("error: --data-dir"), "{stderr}");
    assert!(stderr.contains("\n  caused by: data directory"), "{stderr}");
}
