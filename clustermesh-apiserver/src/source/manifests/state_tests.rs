//! Per-file state, merge and event classification tests: pure, no file system.

use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RenameMode};
use notify::{Event, EventKind};

use super::dir_state::{DirState, is_manifest_name};
use super::watch::Pending;
use crate::source::ObjectRef;

const DIR: &str = "manifests";

fn file(name: &str) -> PathBuf {
    Path::new(DIR).join(name)
}

fn service(name: &str) -> String {
    format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n")
}

fn service_names(state: &DirState) -> Vec<String> {
    state
        .merged()
        .0
        .services
        .keys()
        .map(ObjectRef::to_string)
        .collect()
}

#[test]
fn last_good_content_stays_in_force_until_fixed() {
    let mut state = DirState::new(DIR.into());
    assert!(state.update(&file("a.yaml"), service("echo")));
    assert_eq!(service_names(&state), ["default/echo"]);

    assert!(state.update(
        &file("a.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: [\n".into()
    ));
    let (objects, errors) = state.merged();
    assert_eq!(objects.services.len(), 1, "the previous objects stay");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, file("a.yaml"));

    assert!(
        !state.update(
            &file("a.yaml"),
            "apiVersion: v1\nkind: Service\nmetadata: [\n".into()
        ),
        "same bytes change nothing"
    );

    assert!(state.update(&file("a.yaml"), service("fixed")));
    let (objects, errors) = state.merged();
    assert!(errors.is_empty());
    assert_eq!(
        objects
            .services
            .keys()
            .map(ObjectRef::to_string)
            .collect::<Vec<_>>(),
        ["default/fixed"]
    );
}

#[test]
fn a_removed_file_takes_its_objects_and_errors_along() {
    let mut state = DirState::new(DIR.into());
    state.update(&file("a.yaml"), service("a"));
    state.update(&file("b.yaml"), "kind: [".into());
    assert!(state.remove(&file("a.yaml")));
    assert!(state.remove(&file("b.yaml")));
    assert!(!state.remove(&file("b.yaml")));
    let (objects, errors) = state.merged();
    assert!(objects.services.is_empty());
    assert!(errors.is_empty());
}

#[test]
fn a_duplicate_goes_to_the_lexically_first_file_and_names_both() {
    let mut state = DirState::new(DIR.into());
    // Inserted in reverse order: the winner must not depend on event order.
    state.update(
        &file("b.yaml"),
        format!("{}  labels: {{from: b}}\n", service("echo")),
    );
    state.update(
        &file("a.yaml"),
        format!("# a\n{}  labels: {{from: a}}\n", service("echo")),
    );
    let (objects, errors) = state.merged();
    let winner = objects
        .services
        .values()
        .next()
        .and_then(|s| s.metadata.labels.clone());
    assert_eq!(
        winner.and_then(|l| l.get("from").cloned()).as_deref(),
        Some("a")
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "manifests/b.yaml:1: Service default/echo is also defined at manifests/a.yaml:2, which takes precedence"
    );
}

#[test]
fn read_failures_and_directory_errors_keep_objects() {
    let mut state = DirState::new(DIR.into());
    state.update(&file("a.yaml"), service("a"));
    assert!(state.unusable(&file("a.yaml"), "cannot read: denied".into()));
    assert!(!state.unusable(&file("a.yaml"), "cannot read: denied".into()));
    let (objects, errors) = state.merged();
    assert_eq!(objects.services.len(), 1);
    assert_eq!(errors[0].line, None);
    // Readable again with the same bytes: parsed again, and the error clears.
    assert!(state.update(&file("a.yaml"), service("a")));
    assert!(state.merged().1.is_empty());
}

#[test]
fn manifest_names_are_those_kubectl_reads() {
    for name in ["a.yaml", "a.yml", "a.json"] {
        assert!(is_manifest_name(name.as_ref()), "{name}");
    }
    for name in [
        ".a.yaml",
        "a.yaml~",
        ".a.yaml.swp",
        "4913",
        "..data",
        "a.txt",
    ] {
        assert!(!is_manifest_name(name.as_ref()), "{name}");
    }
}

fn classify(kind: EventKind, names: &[&str]) -> Pending {
    let mut event = Event::new(kind);
    for name in names {
        event = event.add_path(file(name));
    }
    let mut pending = Pending::default();
    pending.add(Path::new(DIR), Ok(event));
    pending
}

#[test]
fn events_on_manifests_reload_only_those_files() {
    let write = EventKind::Modify(ModifyKind::Data(DataChange::Any));
    let pending = classify(write, &["a.yaml"]);
    assert_eq!(pending.files.iter().collect::<Vec<_>>(), [&file("a.yaml")]);
    assert!(!pending.rescan);

    // Editors write a temporary file and rename it over the manifest.
    let rename = EventKind::Modify(ModifyKind::Name(RenameMode::Both));
    let pending = classify(rename, &[".a.yaml.tmp", "a.yaml"]);
    assert!(pending.files.contains(&file("a.yaml")));
    assert!(
        pending.rescan,
        "a non-manifest name moved: re-read to be sure"
    );

    let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
    assert!(
        classify(closed, &["a.yaml"])
            .files
            .contains(&file("a.yaml"))
    );
}

#[test]
fn reads_and_swap_file_writes_are_ignored_but_unknown_entries_appearing_rescan() {
    let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
    let pending = classify(open, &["a.yaml"]);
    assert!(pending.files.is_empty() && !pending.rescan);

    let write = EventKind::Modify(ModifyKind::Data(DataChange::Content));
    let pending = classify(write, &[".a.yaml.swp"]);
    assert!(pending.files.is_empty() && !pending.rescan);

    // A ConfigMap volume swaps its `..data` symlink.
    let create = EventKind::Create(CreateKind::Any);
    assert!(classify(create, &["..data"]).rescan);

    let mut pending = Pending::default();
    pending.add(
        Path::new(DIR),
        Err(notify::Error::generic("queue overflow")),
    );
    assert!(pending.rescan);
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut lines = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        lines.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn count(&self, needle: &str) -> usize {
        let lines = self
            .0
            .lock()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        lines.unwrap_or_default().matches(needle).count()
    }
}

#[test]
fn publish_bumps_the_generation_only_on_change_and_warns_once_per_error() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let (tx, rx) = tokio::sync::watch::channel(super::SourceState::default());
    tracing::subscriber::with_default(subscriber, || {
        let mut state = DirState::new(DIR.into());
        state.update(&file("a.yaml"), "kind: [".into());
        super::watch::publish(&state, &tx);
        super::watch::publish(&state, &tx);
        assert_eq!(rx.borrow().generation, 1);

        // Another file changes; the first one's error persists and is not logged again.
        state.update(&file("b.yaml"), service("b"));
        super::watch::publish(&state, &tx);
        assert_eq!(rx.borrow().generation, 2);

        state.update(&file("a.yaml"), service("a"));
        super::watch::publish(&state, &tx);
        assert!(rx.borrow().errors.is_empty());
    });
    assert_eq!(capture.count("invalid manifest"), 1);
    assert_eq!(
        capture.count("file=manifests/a.yaml line=1"),
        2,
        "warned, then resolved"
    );
    assert_eq!(capture.count("manifest error resolved"), 1);
}
