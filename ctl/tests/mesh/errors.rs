//! Failures name the context, the address and the cause, with a hint.

use std::time::Duration;

use clustermesh_apiserver::cli::{Cli, Command, IssueCertArgs};
use clustermesh_proto::{client_config::ClientConfig, tls::Role};
use ctl::{client::probe, error::Cause};

use crate::support::{Mesh, Ranges};

/// Rewrites context a's `field` (a path) in the ctl config.
fn set_context_a_file(mesh: &Mesh, field: &str, path: &str) {
    let config = std::fs::read_to_string(&mesh.config).expect("config");
    let (first, rest) = config.split_at(config.find("- name: b").unwrap_or(config.len()));
    let first: String = first
        .lines()
        .map(|l| match l.trim_start().starts_with(&format!("{field}:")) {
            true => format!("  {field}: {path}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&mesh.config, format!("{first}{rest}")).expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_apiserver_is_named_with_its_address() {
    let mesh = Mesh::new();
    let _a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let mut b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
    b.stop().await;

    let out = mesh
        .ctl(&["connect", "--context", "a", "--destination-context", "b"])
        .await;
    assert_eq!(out.code, 1, "{out:?}");
    let expected = format!(
        "error: context b, apiserver {}: connection refused (connect)",
        b.addr
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: is `clustermesh-apiserver run` up"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ctl context list"), "{}", out.stderr);

    let out = mesh.ctl(&["status"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("(context b, apiserver {}): UNREACHABLE", b.addr)),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("NOT healthy: 1 problem in 1 of 2 clusters"),
        "{}",
        out.stdout
    );

    let out = mesh.ctl(&["services", "--context", "b"]).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("connection refused"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_cluster_is_rejected() {
    let mesh = Mesh::new();
    let a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
    // Context a now trusts b's CA and presents b's admin certificate.
    let config = std::fs::read_to_string(&mesh.config).expect("config");
    let a_dir = a.data_dir.to_str().expect("utf-8").to_owned();
    let b_dir = b.data_dir.to_str().expect("utf-8").to_owned();
    let (first, rest) = config.split_at(config.find("- name: b").expect("context b"));
    std::fs::write(
        &mesh.config,
        format!("{}{rest}", first.replace(&a_dir, &b_dir)),
    )
    .expect("write");

    let out = mesh.ctl(&["status", "--context", "a", "-o", "json"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let cluster = &out.json()["clusters"][0];
    let error = cluster["apiserver"]["error"].as_str().expect("error");
    assert!(
        error.contains("context a") && error.contains(&a.addr.to_string()),
        "{error}"
    );
    assert!(error.contains("certificate rejected"), "{error}");
    assert!(
        cluster["apiserver"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("init"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_certificate_of_another_cluster_is_rejected_by_the_server() {
    let mesh = Mesh::new();
    let a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let b = mesh.cluster("b", 2, Ranges::of(2), "10.2.0.0/16").await;
    // a's CA, so the server is trusted; b's admin identity, which a's CA did not sign.
    set_context_a_file(
        &mesh,
        "client-certificate",
        b.file("admin.crt").to_str().expect("utf-8"),
    );
    set_context_a_file(
        &mesh,
        "client-key",
        b.file("admin.key").to_str().expect("utf-8"),
    );

    let out = mesh.ctl(&["services", "--context", "a"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let expected = format!(
        "error: context a, apiserver {}: certificate rejected",
        a.addr
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);

    // The probe behind that diagnosis is deterministic either way.
    let config = ClientConfig::load(&mesh.config).expect("config");
    let wait = Duration::from_secs(5);
    let rejected = probe::certificate_rejection(config.context(Some("a")).expect("a"), wait).await;
    assert!(
        matches!(&rejected, Some(Cause::CertificateRejected(alert)) if alert.contains("alert")),
        "{rejected:?}"
    );
    let accepted = probe::certificate_rejection(config.context(Some("b")).expect("b"), wait).await;
    assert_eq!(accepted, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_without_the_admin_role_is_denied() {
    let mesh = Mesh::new();
    let a = mesh.cluster("a", 1, Ranges::of(1), "10.1.0.0/16").await;
    let out_dir = mesh.dir.path().join("agent-cert");
    let issue = Cli {
        command: Command::IssueCert(IssueCertArgs {
            data_dir: a.data_dir.clone(),
            role: Role::Agent,
            name: "a-node1".into(),
            out: out_dir.clone(),
        }),
    };
    issue.run().await.expect("issue-cert");
    set_context_a_file(
        &mesh,
        "client-certificate",
        out_dir.join("tls.crt").to_str().expect("utf-8"),
    );
    set_context_a_file(
        &mesh,
        "client-key",
        out_dir.join("tls.key").to_str().expect("utf-8"),
    );

    let out = mesh.ctl(&["services", "--context", "a"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    let expected = format!("error: context a, apiserver {}: permission denied", a.addr);
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: the context's client certificate lacks the admin role"),
        "{}",
        out.stderr
    );
}
