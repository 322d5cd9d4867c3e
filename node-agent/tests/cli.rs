//! The `node-agent` binary's refusals: a bad flag or a missing capability is named
//! before anything is touched, with exit status 1 and no panic.

use std::{os::unix::fs::PermissionsExt as _, path::Path, process::Command};

use clustermesh_proto::{
    ClusterName,
    tls::{ClusterCa, Role},
};

const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

/// A CA, an agent certificate for `n1` and its key, readable by anyone (the
/// unprivileged run below must get past reading them).
fn certs(dir: &Path) {
    let ca = ClusterCa::generate(&ClusterName::new("a").expect("name")).expect("CA");
    let cert = ca.issue(Role::Agent, "n1", &[], DAY).expect("cert");
    for (file, text) in [
        ("ca.crt", ca.cert_pem().to_owned()),
        ("tls.crt", cert.cert_pem.clone()),
        ("tls.key", cert.key_pem.clone()),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn run_args(dir: &Path) -> Vec<String> {
    let file = |f: &str| dir.join(f).to_str().expect("UTF-8").to_owned();
    [
        "run",
        "--node-name",
        "n1",
        "--apiserver",
        "https://127.0.0.1:1",
        "--ca",
        &file("ca.crt"),
        "--cert",
        &file("tls.crt"),
        "--key",
        &file("tls.key"),
        "--state-dir",
        &file("state"),
        "--wireguard",
        "userspace",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn stderr_of(mut command: Command) -> (Option<i32>, String) {
    let out = command.output().expect("the command runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_cap_net_admin_the_agent_names_the_capability() {
    let dir = tempfile::tempdir().expect("tempdir");
    certs(dir.path());
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            env!("CARGO_BIN_EXE_node-agent"),
        ])
        .args(run_args(dir.path()));
    let (code, stderr) = stderr_of(command);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("missing capability CAP_NET_ADMIN"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !dir.path().join("state").exists(),
        "nothing may be created before the check"
    );
}

#[test]
fn a_bad_flag_is_named_before_anything_acts() {
    let dir = tempfile::tempdir().expect("tempdir");
    certs(dir.path());
    let mut args = run_args(dir.path());
    let at = args.iter().position(|a| a == "--apiserver").expect("flag") + 1;
    args[at] = "http://127.0.0.1:1".into();
    let mut command = Command::new(env!("CARGO_BIN_EXE_node-agent"));
    command.args(&args);
    let (code, stderr) = stderr_of(command);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("--apiserver"), "{stderr}");
    assert!(stderr.contains("must start with https://"), "{stderr}");
    assert!(!dir.path().join("state").exists());
}

#[test]
fn an_unknown_backend_is_refused_with_the_choices() {
    let dir = tempfile::tempdir().expect("tempdir");
    certs(dir.path());
    let mut args = run_args(dir.path());
    let at = args.iter().position(|a| a == "--wireguard").expect("flag") + 1;
    args[at] = "boringtunnel".into();
    let mut command = Command::new(env!("CARGO_BIN_EXE_node-agent"));
    command.args(&args);
    let (code, stderr) = stderr_of(command);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("--wireguard")
            && stderr.contains("auto, kernel, userspace or wireguard-go"),
        "{stderr}"
    );
}
