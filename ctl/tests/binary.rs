//! The real `ctl` binary: exit statuses, and plain output when not on a terminal.

use std::process::{Command, Output};

fn ctl(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ctl"));
    // Only what the test sets may configure the binary.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CLUSTERMESH_") {
            command.env_remove(key);
        }
    }
    let output = command.args(args).output().expect("runs ctl");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    output
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["--bogus"][..],
        &["status", "--timeout", "soon"],
        &["connect"],
    ] {
        let output = ctl(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn failures_exit_1_with_a_hint_and_no_colour_when_piped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yaml");
    let config = config.to_str().expect("utf-8");
    let output = ctl(&["--config", config, "status"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("\nhint: "),
        "{stderr}"
    );

    let output = ctl(&["--config", config, "context", "list"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(!output.stdout.contains(&0x1b), "escape codes on a pipe");
}

#[test]
fn the_config_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "contexts: 7\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_ctl"))
        .args(["context", "list"])
        .env("CLUSTERMESH_CONFIG", &config)
        .output()
        .expect("runs ctl");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(config.to_str().expect("utf-8")), "{stderr}");
}
