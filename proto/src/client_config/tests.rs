use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use super::*;
use crate::tls::{ClusterCa, Role};

fn name(s: &str) -> ClusterName {
    ClusterName::new(s).expect("valid cluster name")
}

fn context(ctx: &str, dir: &Path) -> Context {
    Context {
        name: name(ctx),
        server: "127.0.0.1:7443".parse().expect("valid"),
        cluster: name(ctx),
        certificate_authority: dir.join("ca.crt"),
        client_certificate: dir.join("admin.crt"),
        client_key: dir.join("admin.key"),
    }
}

/// Writes a CA and an admin certificate of `cluster` where [`context`] expects them.
fn write_certs(cluster: &str, dir: &Path) {
    let ca = ClusterCa::generate(&name(cluster)).expect("CA");
    let admin = ca
        .issue(
            Role::Admin,
            "admin",
            &[],
            std::time::Duration::from_secs(3600),
        )
        .expect("admin cert");
    fs::write(dir.join("ca.crt"), ca.cert_pem()).expect("write");
    fs::write(dir.join("admin.crt"), admin.cert_pem).expect("write");
    fs::write(dir.join("admin.key"), admin.key_pem).expect("write");
}

fn load_text(text: &str) -> (tempfile::TempDir, Result<ClientConfig, ClientConfigError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    fs::write(&path, text).expect("write");
    let loaded = ClientConfig::load(&path);
    (dir, loaded)
}

fn load_err(text: &str) -> String {
    let (_dir, loaded) = load_text(text);
    loaded.expect_err("must be refused").to_string()
}

const VALID: &str = "current-context: a
contexts:
- name: a
  server: 127.0.0.1:7443
  cluster: a
  certificate-authority: /abs/ca.crt
  client-certificate: /abs/admin.crt
  client-key: /abs/admin.key
";

#[test]
fn missing_or_empty_file_is_an_empty_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = ClientConfig::load(&dir.path().join("nope.yaml")).expect("loads");
    assert_eq!(missing, ClientConfig::default());
    for text in ["", "\n", "# nothing yet\n\n"] {
        let (_dir, loaded) = load_text(text);
        assert_eq!(loaded.expect("loads"), ClientConfig::default(), "{text:?}");
    }
}

#[test]
fn parses_the_documented_format() {
    let (_dir, loaded) = load_text(VALID);
    let config = loaded.expect("valid");
    assert_eq!(config.current_context, Some(name("a")));
    let ctx = config.context(None).expect("current context");
    assert_eq!(ctx, &context("a", Path::new("/abs")));
}

#[test]
fn save_then_load_round_trips_privately() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/deeper/config.yaml");
    let mut config = ClientConfig::default();
    config.upsert_context(context("a", dir.path()));
    config.upsert_context(context("b", dir.path()));
    config.save(&path).expect("saves");
    config.save(&path).expect("overwrites");
    assert_eq!(ClientConfig::load(&path).expect("loads"), config);
    let mode = fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = fs::read_dir(path.parent().expect("parent"))
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "config.yaml")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn upsert_replaces_by_name_and_keeps_the_current_context() {
    let mut config = ClientConfig::default();
    assert!(
        config
            .upsert_context(context("a", Path::new("/1")))
            .is_none()
    );
    assert!(
        config
            .upsert_context(context("b", Path::new("/1")))
            .is_none()
    );
    let old = config.upsert_context(context("a", Path::new("/2")));
    assert_eq!(old, Some(context("a", Path::new("/1"))));
    assert_eq!(config.contexts.len(), 2);
    assert_eq!(config.current_context, Some(name("a")));
    let a = config.context(Some("a")).expect("a");
    assert_eq!(a.certificate_authority, Path::new("/2/ca.crt"));
    assert_eq!(config.context(None).expect("current").name, "a");
}

#[test]
fn missing_context_names_it_and_lists_the_others() {
    let mut config = ClientConfig::default();
    let err = config.context(None).expect_err("empty").to_string();
    assert!(err.contains("clustermesh-apiserver init"), "{err}");
    config.upsert_context(context("a", Path::new("/x")));
    config.upsert_context(context("b", Path::new("/x")));
    let err = config.context(Some("zz")).expect_err("missing").to_string();
    assert!(err.contains("\"zz\"") && err.contains("a, b"), "{err}");
    config.current_context = None;
    let err = config.context(None).expect_err("no current").to_string();
    assert!(
        err.contains("current-context") && err.contains("a, b"),
        "{err}"
    );
}

#[test]
fn refuses_bad_files_naming_file_and_context() {
    let cases = [
        (VALID.replace("client-key:", "client-keys:"), "client-keys"),
        (VALID.replace("current-context: a", "current: a"), "current"),
        (
            VALID.replace("server: 127.0.0.1:7443", "server: 127.0.0.1"),
            "context \"a\": server",
        ),
        (
            VALID.replace("server: 127.0.0.1:7443", "server: x:0"),
            "context \"a\": server",
        ),
        (
            VALID.replace("cluster: a", "cluster: A"),
            "context \"a\": cluster",
        ),
        (
            VALID.replace("name: a", "name: Bad_Name"),
            "context #1 (contexts[0]): name",
        ),
        (
            VALID.replace("client-key: /abs/admin.key", "client-key: ''"),
            "client-key: must not be empty",
        ),
        (
            VALID.replace("current-context: a", "current-context: default"),
            "current-context",
        ),
        ("contexts: 7".to_owned(), "contexts"),
        ("[1, 2".to_owned(), "config.yaml"),
        (
            format!("{VALID}{}", &VALID[VALID.find("- name").expect("list")..]),
            "context \"a\": defined more than once",
        ),
    ];
    for (text, expected) in cases {
        let err = load_err(&text);
        assert!(err.contains("config.yaml"), "no file name in {err:?}");
        assert!(err.contains(expected), "{expected:?} not in {err:?}");
    }
}

#[test]
fn relative_paths_are_relative_to_the_config_file() {
    let (dir, loaded) = load_text(&VALID.replace("/abs/ca.crt", "certs/ca.crt"));
    let config = loaded.expect("valid");
    let ctx = config.context(Some("a")).expect("a");
    assert_eq!(ctx.certificate_authority, dir.path().join("certs/ca.crt"));
    assert_eq!(ctx.client_key, Path::new("/abs/admin.key"));
}

#[test]
fn default_path_prefers_the_env_then_home() {
    let path =
        |c: Option<&str>, h: Option<&str>| default_path_from(c.map(Into::into), h.map(Into::into));
    assert_eq!(
        path(Some("/c.yaml"), Some("/h")).expect("set"),
        Path::new("/c.yaml")
    );
    assert_eq!(
        path(Some(""), Some("/h")).expect("home"),
        Path::new("/h/.config/clustermesh/config.yaml")
    );
    assert!(matches!(
        path(None, None),
        Err(ClientConfigError::NoDefaultPath)
    ));
}

#[test]
fn client_tls_reads_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_certs("a", dir.path());
    let ctx = context("a", dir.path());
    ctx.client_tls().expect("valid TLS config");
    let endpoint = ctx.endpoint().expect("endpoint");
    assert_eq!(endpoint.uri().to_string(), "https://127.0.0.1:7443/");
}

#[test]
fn client_tls_names_the_bad_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_certs("a", dir.path());
    let ctx = context("a", dir.path());
    fs::remove_file(&ctx.client_certificate).expect("rm");
    let err = ctx.client_tls().expect_err("missing cert").to_string();
    assert!(
        err.contains("admin.crt") && err.contains("client-certificate"),
        "{err}"
    );

    write_certs("a", dir.path());
    fs::write(&ctx.client_key, "not a key").expect("write");
    let err = ctx.client_tls().expect_err("bad key").to_string();
    assert!(
        err.contains("admin.key") && !err.contains("ca.crt"),
        "{err}"
    );

    // A key from another issuance does not match the certificate.
    write_certs("a", dir.path());
    let other = tempfile::tempdir().expect("tempdir");
    write_certs("a", other.path());
    fs::copy(other.path().join("admin.key"), &ctx.client_key).expect("copy");
    let err = ctx.client_tls().expect_err("mismatched key").to_string();
    assert!(
        err.contains("admin.crt") && err.contains("admin.key"),
        "{err}"
    );
}
