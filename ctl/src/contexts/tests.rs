use std::path::PathBuf;

use clustermesh_proto::{ClusterName, client_config::Context};

use super::*;
use crate::output::Io;

fn context(name: &str, port: u16) -> Context {
    Context {
        name: ClusterName::new(name).expect("name"),
        server: format!("127.0.0.1:{port}").parse().expect("server"),
        cluster: ClusterName::new(name).expect("name"),
        certificate_authority: PathBuf::from("/d/ca.crt"),
        client_certificate: PathBuf::from(format!("/d/{name}/admin.crt")),
        client_key: PathBuf::from("/d/admin.key"),
    }
}

fn config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.upsert_context(context("a", 7443));
    config.upsert_context(context("b", 7444));
    config
}

#[test]
fn marks_the_current_context() {
    let list = list(&config());
    assert_eq!(list.current_context.as_deref(), Some("a"));
    let current: Vec<bool> = list.contexts.iter().map(|c| c.current).collect();
    assert_eq!(current, [true, false]);
}

#[test]
fn renders_a_table() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    render(&list(&config()), &mut Io::plain(&mut out, &mut err)).expect("render");
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "CURRENT  NAME  CLUSTER  SERVER          CLIENT CERTIFICATE\n\
         *        a     a        127.0.0.1:7443  /d/a/admin.crt\n         \
         b     b        127.0.0.1:7444  /d/b/admin.crt\n"
    );
}

#[test]
fn json_field_names_are_stable() {
    let value = serde_json::to_value(list(&config())).expect("json");
    assert_eq!(value["current_context"], "a");
    let first = &value["contexts"][0];
    for field in [
        "name",
        "cluster",
        "server",
        "current",
        "certificate_authority",
        "client_certificate",
        "client_key",
    ] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
}

#[test]
fn says_how_to_add_a_first_context() {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    render(
        &list(&ClientConfig::default()),
        &mut Io::plain(&mut out, &mut err),
    )
    .expect("render");
    assert!(
        String::from_utf8(out)
            .expect("utf-8")
            .contains("clustermesh-apiserver init")
    );
}
