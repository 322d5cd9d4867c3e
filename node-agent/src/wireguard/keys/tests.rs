use std::{fs, os::unix::fs::PermissionsExt};

use super::*;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[test]
fn generates_once_then_reloads_the_same_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let first = NodeKeys::load_or_generate(&state).expect("generate");
    assert_eq!(mode(&state.join(PRIVATE_KEY_FILE)), 0o600);
    assert_eq!(mode(&state.join(PUBLIC_KEY_FILE)), 0o644);
    let public_text = fs::read_to_string(state.join(PUBLIC_KEY_FILE)).expect("public.key");
    assert_eq!(public_text.trim(), first.public().to_string());
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(&state)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");

    let second = NodeKeys::load_or_generate(&state).expect("reload");
    assert_eq!(second.public(), first.public());
    assert_eq!(second.private(), first.private());
}

#[test]
fn loads_a_wg_genkey_file_and_derives_its_public_key() {
    // The test vector of wireguard-control's own key tests.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(PRIVATE_KEY_FILE);
    fs::write(&path, "SGb+ojrRNDuMePufwtIYhXzA//k6wF3R21tEBgKlzlM=\n").expect("write");
    fs::set_permissions(&path, Permissions::from_mode(0o600)).expect("chmod");
    let keys = NodeKeys::load_or_generate(dir.path()).expect("load");
    assert_eq!(
        keys.public().to_string(),
        "DD5yKRfzExcV5+kDnTroDgCU15latdMjiQ59j1hEuk8="
    );
}

#[test]
fn refuses_a_private_key_readable_by_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    NodeKeys::load_or_generate(dir.path()).expect("generate");
    let path = dir.path().join(PRIVATE_KEY_FILE);
    fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
    let err = NodeKeys::load_or_generate(dir.path()).expect_err("0644 must be refused");
    assert!(matches!(
        err,
        WireGuardError::KeyPermissions { mode: 0o644, .. }
    ));
    let text = err.to_string();
    assert!(text.contains("0644"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn refuses_garbage() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(PRIVATE_KEY_FILE);
    fs::write(&path, "not a key\n").expect("write");
    fs::set_permissions(&path, Permissions::from_mode(0o600)).expect("chmod");
    let err = NodeKeys::load_or_generate(dir.path()).expect_err("garbage");
    assert!(matches!(err, WireGuardError::InvalidKey { .. }), "{err}");
    // The error names the file but never echoes its content.
    assert!(!err.to_string().contains("not a key"));
}

#[test]
fn debug_redacts_the_private_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = NodeKeys::load_or_generate(dir.path()).expect("generate");
    let shown = format!("{keys:?} {keys:#?}");
    assert!(!shown.contains(&keys.private().to_base64()), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains(&keys.public().to_string()), "{shown}");
}
