//! Every refusal names the flag and what is wrong, before anything acts.

use std::path::Path;

use clustermesh_proto::{
    ClusterName,
    tls::{ClusterCa, Role},
};

use super::RunArgs;

const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);

fn args(dir: &Path, role: Role, name: &str) -> RunArgs {
    let ca = ClusterCa::generate(&ClusterName::new("a").expect("name")).expect("CA");
    let cert = ca.issue(role, name, &[], DAY).expect("cert");
    std::fs::write(dir.join("ca.crt"), ca.cert_pem()).expect("write");
    std::fs::write(dir.join("tls.crt"), &cert.cert_pem).expect("write");
    std::fs::write(dir.join("tls.key"), &cert.key_pem).expect("write");
    RunArgs {
        node_name: "n1".into(),
        apiserver: "https://127.0.0.1:7443".into(),
        ca: dir.join("ca.crt"),
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        state_dir: dir.join("state"),
        wireguard: "auto".into(),
        wireguard_userspace: "wireguard-go".into(),
        wg_interface: "cmwg0".into(),
        wg_port: 51820,
        underlay_address: Some("192.0.2.1".parse().expect("ip")),
        keepalive: 0,
        metrics_listen: None,
    }
}

fn refusal(args: RunArgs) -> String {
    args.validate().expect_err("must be refused").to_string()
}

#[test]
fn a_valid_config_takes_the_cluster_from_the_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = args(dir.path(), Role::Agent, "n1")
        .validate()
        .expect("valid");
    assert_eq!(config.cluster.as_str(), "a");
    assert_eq!(
        config.endpoint,
        Some("192.0.2.1:51820".parse().expect("addr"))
    );
    assert_eq!(config.keepalive, None);
}

#[test]
fn refusals_name_the_flag() {
    // One directory per case: each writes its own certificate files.
    let dirs: Vec<tempfile::TempDir> = (0..7)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let mut dirs = dirs.iter().map(|d| d.path());
    let mut next = || dirs.next().expect("enough directories");
    let cases: Vec<(RunArgs, &str)> = vec![
        (
            RunArgs {
                apiserver: "http://127.0.0.1:7443".into(),
                ..args(next(), Role::Agent, "n1")
            },
            "--apiserver: \"http://127.0.0.1:7443\" must start with https://",
        ),
        (
            RunArgs {
                node_name: "n2".into(),
                ..args(next(), Role::Agent, "n1")
            },
            "--node-name: \"n2\" differs from the certificate's node \"n1\"",
        ),
        (args(next(), Role::Admin, "admin"), "--cert: "),
        (
            RunArgs {
                wireguard: "magic".into(),
                ..args(next(), Role::Agent, "n1")
            },
            "--wireguard: ",
        ),
        (
            RunArgs {
                wireguard_userspace: "tailscale".into(),
                ..args(next(), Role::Agent, "n1")
            },
            "--wireguard-userspace: unknown userspace WireGuard \"tailscale\"",
        ),
        (
            RunArgs {
                wg_interface: "a-very-long-interface".into(),
                ..args(next(), Role::Agent, "n1")
            },
            "--wg-interface: ",
        ),
        (
            RunArgs {
                ca: "/nonexistent/clustermesh-ca.crt".into(),
                ..args(next(), Role::Agent, "n1")
            },
            "--ca: ",
        ),
    ];
    for (args, expected) in cases {
        let text = refusal(args);
        assert!(text.starts_with(expected), "{expected:?} vs {text:?}");
    }
}
