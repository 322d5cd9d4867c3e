use super::*;

/// Runs `ctl` with `args` (without the program name); returns (exit, stdout, stderr).
fn ctl(args: &[&str]) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = {
        let mut io = Io::plain(&mut out, &mut err);
        let args = std::iter::once("ctl").chain(args.iter().copied());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(args, &mut io))
    };
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (code, text(out), text(err))
}

fn empty_config() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.yaml");
    let path = path.to_str().expect("utf-8").to_owned();
    (dir, path)
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    for args in [
        &["bogus"][..],
        &["connect", "--context", "a"],
        &["status", "--timeout", "3"],
        &["status", "-o", "yaml"],
        &[],
    ] {
        let (code, out, err) = ctl(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(
            err.contains("error") || err.contains("Usage"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    let (code, out, _) = ctl(&["--help"]);
    assert_eq!(code, 0);
    for command in [
        "context",
        "connect",
        "disconnect",
        "status",
        "services",
        "drill",
    ] {
        assert!(out.contains(command), "{command} missing from help");
    }
    let (code, out, _) = ctl(&["--version"]);
    assert_eq!((code, out.starts_with("ctl ")), (0, true));
}

#[test]
fn connecting_a_context_to_itself_is_a_usage_error() {
    let (_dir, config) = empty_config();
    let args = [
        "--config",
        &config,
        "connect",
        "--context",
        "a",
        "--destination-context",
        "a",
    ];
    let (code, _, err) = ctl(&args);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot import itself"), "{err}");
}

#[test]
fn an_unknown_context_fails_with_a_hint() {
    let (_dir, config) = empty_config();
    let (code, _, err) = ctl(&["--config", &config, "services", "--context", "zz"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("\"zz\"") && err.contains("hint: list the contexts"),
        "{err}"
    );
}

#[test]
fn a_broken_config_names_the_file() {
    let (_dir, config) = empty_config();
    std::fs::write(&config, "contexts: 7\n").expect("write");
    let (code, _, err) = ctl(&["--config", &config, "context", "list"]);
    assert_eq!(code, 1);
    assert!(err.contains("config.yaml"), "{err}");
}

#[test]
fn json_works_with_an_empty_config() {
    let (_dir, config) = empty_config();
    let (code, out, _) = ctl(&["--config", &config, "context", "list", "-o", "json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(value["contexts"], serde_json::json!([]));
    assert_eq!(value["current_context"], serde_json::Value::Null);
}

#[test]
fn drill_arguments_are_checked_before_anything_is_dialled() {
    let (_dir, config) = empty_config();
    let drill = |extra: &[&str]| {
        let mut args = vec!["--config", &config, "drill", "failover", "--context", "a"];
        args.extend_from_slice(extra);
        ctl(&args)
    };
    for (extra, expected) in [
        (&["--service", "web"][..], "expected NAMESPACE/NAME"),
        (&["--service", "demo/web", "--rate", "0"], "--rate"),
        (&["--service", "demo/web", "--fault", "disk"], "--fault"),
        (
            &["--service", "demo/web", "--duration", "5"],
            "missing unit",
        ),
        (
            &["--service", "demo/web", "--duration", "5m"],
            "--duration 5m is too long: at most 4m",
        ),
    ] {
        let (code, out, err) = drill(extra);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(out.is_empty(), "{extra:?}: {out}");
        assert!(err.contains(expected), "{extra:?}: {err}");
    }
    let (code, _, err) = drill(&["--service", "demo/web"]);
    assert_eq!(code, 1);
    assert!(err.contains("no context named \"a\""), "{err}");
}
