//! What the suite needs before it can run the real components, checked up front. A
//! missing piece fails the test with what to do about it: the suite never skips.

use std::path::{Path, PathBuf};

/// The binaries under test: ctl is this package's, the daemons are built next to it
/// (`cargo test --workspace` builds every binary of the workspace).
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `target/<profile>`: `CLUSTERMESH_BIN_DIR` for the demo.
    pub dir: PathBuf,
    pub ctl: PathBuf,
    pub apiserver: PathBuf,
}

/// Panics unless the suite runs as root with the binaries and tools it needs.
pub fn check() -> Binaries {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the multicloud e2e suite must run as root: it runs examples/multicloud/demo.sh \
         (network namespaces, veths, WireGuard devices, nftables, all inside namespaces of \
         its own). Run `sudo -E cargo test -p ctl --test multicloud`."
    );
    // The rest (curl, python3, nft, wg, wireguard-go) `demo.sh up` installs with
    // apt-get when missing, or fails naming them, which fails the test.
    for (tool, package) in [("ip", "iproute2"), ("bash", "bash")] {
        assert!(
            on_path(tool),
            "`{tool}` is not on PATH: the multicloud suite needs it (Debian package {package})"
        );
    }
    let ctl = PathBuf::from(env!("CARGO_BIN_EXE_ctl"));
    let dir = ctl
        .parent()
        .expect("the ctl binary is in a directory")
        .to_owned();
    let apiserver = dir.join("clustermesh-apiserver");
    for bin in [&apiserver, &dir.join("node-agent")] {
        assert!(
            is_executable(bin),
            "{} is missing: the multicloud suite runs the real daemons from the directory \
             of the ctl binary it tests. Build them with the same profile first: \
             `cargo build -p clustermesh-apiserver -p node-agent` (`cargo test --workspace` \
             and `make test` build them).",
            bin.display()
        );
    }
    Binaries {
        dir,
        ctl,
        apiserver,
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .any(|dir| is_executable(&dir.join(tool)))
    })
}
