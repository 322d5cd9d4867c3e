//! The multicloud example (`examples/multicloud/demo.sh`) as a bench topology: three
//! clouds in network namespaces with the release binaries. `down` runs on drop, so a
//! failed scenario leaves no namespace or process behind.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// Names every namespace and the state directory, apart from a demo the user runs.
const PREFIX: &str = "cmbench";

pub struct Demo {
    script: PathBuf,
    dir: PathBuf,
    bin_dir: PathBuf,
}

impl Demo {
    /// `up` and `connect`; fails with demo.sh's own output.
    pub fn up() -> anyhow::Result<Self> {
        let demo = Self {
            script: workspace_root().join("examples/multicloud/demo.sh"),
            dir: std::env::temp_dir().join(format!("{PREFIX}-demo")),
            bin_dir: release_dir()?,
        };
        for bin in ["clustermesh-apiserver", "node-agent", "ctl"] {
            if !demo.bin_dir.join(bin).is_file() {
                bail!(
                    "{} is missing: build the release binaries first \
                     (`cargo build --release -p clustermesh-apiserver -p node-agent -p ctl`)",
                    demo.bin_dir.join(bin).display()
                );
            }
        }
        // A previous run that was killed may have left its namespaces.
        demo.script(&["down"])?;
        demo.script(&["up"])?;
        demo.script(&["connect"])?;
        Ok(demo)
    }

    /// `ctl ARGS -o json` against the demo: the parsed report, also when ctl exits 1
    /// (a drill that did not recover still reports).
    pub fn ctl_json(&self, args: &[&str]) -> anyhow::Result<Value> {
        let mut full = vec!["ctl"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["-o", "json"]);
        let out = self.run(&full)?;
        serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "ctl {} printed no JSON (exit {:?}): {}",
                args.join(" "),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    fn script(&self, args: &[&str]) -> anyhow::Result<Output> {
        let out = self.run(args)?;
        if !out.status.success() {
            bail!(
                "demo.sh {} failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        Command::new(&self.script)
            .args(args)
            .env("CLUSTERMESH_DEMO_PREFIX", PREFIX)
            .env("CLUSTERMESH_DEMO_DIR", &self.dir)
            .env("CLUSTERMESH_BIN_DIR", &self.bin_dir)
            .env("CLUSTERMESH_CTL", self.bin_dir.join("ctl"))
            .output()
            .with_context(|| format!("running {}", self.script.display()))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Err(e) = self.script(&["down"]) {
            eprintln!("{e:#}");
        }
    }
}

/// The binaries beside this one: `make bench` builds them all in one release build.
pub fn release_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating clustermesh-bench")?;
    exe.parent()
        .map(Path::to_path_buf)
        .with_context(|| format!("{} has no directory", exe.display()))
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
