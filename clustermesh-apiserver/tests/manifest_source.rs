//! The manifest source against a real directory and a real notify watcher. Every wait is
//! on a condition with a deadline; nothing sleeps a fixed time.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use clustermesh_apiserver::source::{ManifestSource, ObjectRef, SourceError, SourceState};
use tokio::sync::watch::Receiver;
use tokio_util::sync::CancellationToken;

/// The promise: a change shows up within one second.
const PROMPT: Duration = Duration::from_secs(1);
/// For conditions whose speed is not under test; generous for loaded CI machines.
const PATIENT: Duration = Duration::from_secs(10);

fn service(name: &str, port: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  ports:\n    - port: {port}\n"
    )
}

fn services(state: &SourceState) -> Vec<String> {
    state
        .objects
        .services
        .keys()
        .map(ObjectRef::to_string)
        .collect()
}

fn port_of(state: &SourceState, name: &str) -> Option<i32> {
    let key = ObjectRef {
        namespace: "default".into(),
        name: name.into(),
    };
    let spec = state.objects.services.get(&key)?.spec.as_ref()?;
    Some(spec.ports.as_ref()?.first()?.port)
}

async fn wait_for(
    rx: &mut Receiver<SourceState>,
    within: Duration,
    what: &str,
    mut condition: impl FnMut(&SourceState) -> bool,
) -> anyhow::Result<SourceState> {
    let outcome = tokio::time::timeout(within, rx.wait_for(|s| condition(s)))
        .await
        .map(|found| found.map(|state| state.clone()));
    match outcome {
        Ok(Ok(state)) => Ok(state),
        Ok(Err(_)) => bail!("the source stopped while waiting for {what}"),
        Err(_) => {
            let state = rx.borrow();
            bail!(
                "no {what} within {within:?}; generation {}, services {:?}, errors {:?}",
                state.generation,
                services(&state),
                state.errors
            )
        }
    }
}

async fn start(
    dir: &Path,
) -> anyhow::Result<(ManifestSource, Receiver<SourceState>, CancellationToken)> {
    let shutdown = CancellationToken::new();
    let (source, rx) = ManifestSource::start(dir, shutdown.clone()).await?;
    Ok((source, rx, shutdown))
}

#[tokio::test]
async fn loads_the_directory_at_start() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("a.yaml"), service("a", "80"))?;
    std::fs::write(dir.path().join("b.yml"), "kind: [")?;
    std::fs::write(dir.path().join("notes.txt"), service("ignored", "80"))?;
    let (_source, rx, _shutdown) = start(dir.path()).await?;
    let state = rx.borrow().clone();
    assert_eq!(state.generation, 1);
    assert_eq!(services(&state), ["default/a"]);
    assert_eq!(state.errors.len(), 1);
    assert_eq!(state.errors[0].file, dir.path().join("b.yml"));
    Ok(())
}

#[tokio::test]
async fn a_missing_or_non_directory_path_fails_to_start_naming_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("nope");
    let Err(err) = ManifestSource::start(&missing, CancellationToken::new()).await else {
        bail!("started on a missing directory");
    };
    assert!(matches!(err, SourceError::Directory { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let file = dir.path().join("file.yaml");
    std::fs::write(&file, "")?;
    let Err(err) = ManifestSource::start(&file, CancellationToken::new()).await else {
        bail!("started on a file");
    };
    assert!(matches!(err, SourceError::NotADirectory { .. }), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn a_new_file_shows_up_within_a_second() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (_source, mut rx, _shutdown) = start(dir.path()).await?;
    assert!(services(&rx.borrow()).is_empty());

    std::fs::write(dir.path().join("echo.yaml"), service("echo", "80"))?;
    let state = wait_for(&mut rx, PROMPT, "new service", |s| {
        port_of(s, "echo") == Some(80)
    })
    .await?;
    assert!(state.generation > 1);
    assert!(state.errors.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_typo_keeps_the_last_good_objects_until_fixed_and_a_delete_removes_them()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("echo.yaml");
    std::fs::write(&file, service("echo", "80"))?;
    std::fs::write(dir.path().join("other.yaml"), service("other", "81"))?;
    let (_source, mut rx, _shutdown) = start(dir.path()).await?;
    assert_eq!(port_of(&rx.borrow(), "echo"), Some(80));

    std::fs::write(&file, service("echo", "eighty"))?;
    let state = wait_for(&mut rx, PROMPT, "parse error", |s| !s.errors.is_empty()).await?;
    assert_eq!(
        port_of(&state, "echo"),
        Some(80),
        "the last good content stays in force"
    );
    assert_eq!(state.errors.len(), 1);
    let error = &state.errors[0];
    assert_eq!(
        (error.file.as_path(), error.line),
        (file.as_path(), Some(7))
    );
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:7: ", file.display())),
        "{error}"
    );

    std::fs::write(&file, service("echo", "8080"))?;
    let state = wait_for(&mut rx, PROMPT, "fixed file", |s| {
        port_of(s, "echo") == Some(8080)
    })
    .await?;
    assert!(state.errors.is_empty(), "{:?}", state.errors);

    std::fs::remove_file(&file)?;
    let state = wait_for(&mut rx, PROMPT, "removal", |s| port_of(s, "echo").is_none()).await?;
    assert_eq!(services(&state), ["default/other"]);
    Ok(())
}

#[tokio::test]
async fn an_editor_style_rename_over_is_picked_up() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("echo.yaml");
    std::fs::write(&file, service("echo", "80"))?;
    let (_source, mut rx, _shutdown) = start(dir.path()).await?;

    let temp = dir.path().join(".echo.yaml.tmp");
    std::fs::write(&temp, service("echo", "9090"))?;
    std::fs::rename(&temp, &file)?;
    let state = wait_for(&mut rx, PROMPT, "renamed-over file", |s| {
        port_of(s, "echo") == Some(9090)
    })
    .await?;
    assert!(state.errors.is_empty());

    // Renaming a manifest away counts as deleting it.
    std::fs::rename(&file, dir.path().join("echo.yaml.bak"))?;
    wait_for(&mut rx, PROMPT, "renamed-away file", |s| {
        s.objects.services.is_empty()
    })
    .await?;
    Ok(())
}

#[cfg(unix)]
#[tokio::test]
async fn a_configmap_style_symlink_swap_is_picked_up() -> anyhow::Result<()> {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir()?;
    let (d, v1, v2) = (dir.path(), dir.path().join("..v1"), dir.path().join("..v2"));
    std::fs::create_dir(&v1)?;
    std::fs::write(v1.join("echo.yaml"), service("echo", "80"))?;
    symlink("..v1", d.join("..data"))?;
    symlink("..data/echo.yaml", d.join("echo.yaml"))?;
    let (_source, mut rx, _shutdown) = start(d).await?;
    assert_eq!(port_of(&rx.borrow(), "echo"), Some(80));

    // What the kubelet does: a new version dir, then an atomic swap of `..data`.
    std::fs::create_dir(&v2)?;
    std::fs::write(v2.join("echo.yaml"), service("echo", "81"))?;
    symlink("..v2", d.join("..data_tmp"))?;
    std::fs::rename(d.join("..data_tmp"), d.join("..data"))?;
    wait_for(&mut rx, PROMPT, "swapped content", |s| {
        port_of(s, "echo") == Some(81)
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_watcher_stops_on_shutdown_and_when_receivers_are_gone() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (source, _rx, shutdown) = start(dir.path()).await?;
    shutdown.cancel();
    tokio::time::timeout(PATIENT, source.stopped())
        .await
        .context("watcher did not stop on shutdown")??;

    let (source, rx, _shutdown) = start(dir.path()).await?;
    drop(rx);
    tokio::time::timeout(PATIENT, source.stopped())
        .await
        .context("watcher did not stop without receivers")??;
    Ok(())
}

#[tokio::test]
async fn a_deleted_directory_keeps_its_objects_and_is_watched_again_once_back() -> anyhow::Result<()>
{
    let parent = tempfile::tempdir()?;
    let dir = parent.path().join("manifests");
    std::fs::create_dir(&dir)?;
    std::fs::write(dir.join("echo.yaml"), service("echo", "80"))?;
    let (_source, mut rx, _shutdown) = start(&dir).await?;

    std::fs::remove_dir_all(&dir)?;
    let state = wait_for(&mut rx, PROMPT, "directory error", |s| !s.errors.is_empty()).await?;
    assert_eq!(state.errors[0].file, dir);
    assert_eq!(
        port_of(&state, "echo"),
        Some(80),
        "the last good objects stay"
    );

    std::fs::create_dir(&dir)?;
    std::fs::write(dir.join("echo.yaml"), service("echo", "81"))?;
    let state = wait_for(&mut rx, PATIENT, "recreated directory", |s| {
        port_of(s, "echo") == Some(81)
    })
    .await?;
    assert!(state.errors.is_empty(), "{:?}", state.errors);

    // And it is watched again, not merely rescanned once.
    std::fs::write(dir.join("echo.yaml"), service("echo", "82"))?;
    wait_for(&mut rx, PROMPT, "change after recreation", |s| {
        port_of(s, "echo") == Some(82)
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn an_oversized_file_is_an_error_not_a_memory_hog() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; 9 << 20])?;
    let (_source, rx, _shutdown) = start(dir.path()).await?;
    let state = rx.borrow().clone();
    assert_eq!(state.errors.len(), 1);
    assert_eq!(
        (state.errors[0].file.as_path(), state.errors[0].line),
        (big.as_path(), None)
    );
    assert!(
        state.errors[0].message.contains("limit"),
        "{:?}",
        state.errors
    );
    Ok(())
}
