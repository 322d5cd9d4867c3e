//! One more cluster beside the demo's three: `clustermesh-apiserver init` (its context
//! goes into the demo's ctl config) and `run` inside the hub namespace, on the hub's
//! underlay address, with an empty manifests dir. Stopped by PID on drop.

use std::{
    fs::File,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::{cmd, demo::Demo, wait};

/// The hub's address on the demo's underlay.
const HUB_IP: &str = "172.30.0.1";

pub struct ExtraCluster {
    pub name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ExtraCluster {
    /// Cluster `name` (also its context) with id `id` and pod CIDR `pod_cidr`, serving
    /// on the hub at `port` (metrics at `port + 2000`); returns once /readyz is 200.
    pub fn start(demo: &Demo, name: &str, id: u8, pod_cidr: &str, port: u16) -> Self {
        let dir = demo.state.join("extra").join(name);
        let data = dir.join("data");
        let manifests = dir.join("manifests");
        std::fs::create_dir_all(&manifests).expect("the extra cluster's manifests dir");
        let listen = format!("{HUB_IP}:{port}");
        let metrics = format!("{HUB_IP}:{}", port + 2000);
        let mut init = Command::new(demo.apiserver_bin());
        init.arg("init")
            .args(["--cluster-name", name, "--cluster-id", &id.to_string()])
            .arg("--data-dir")
            .arg(&data)
            .args(["--advertise", &listen, "--pod-cidr", pod_cidr])
            .arg("--ctl-config")
            .arg(demo.ctl_config());
        cmd::run(init, Duration::from_secs(30)).ok();

        let log = demo.logs().join(format!("extra-{name}.log"));
        let out = File::create(&log).expect("the extra cluster's log");
        let err = out.try_clone().expect("clone the log handle");
        let child = Command::new("ip")
            .args(["netns", "exec", &demo.hub_ns()])
            .arg(demo.apiserver_bin())
            .arg("run")
            .arg("--data-dir")
            .arg(&data)
            .args(["--store", "raft"])
            .arg("--source")
            .arg(format!("manifests:{}", manifests.display()))
            .args(["--listen", &listen, "--metrics-listen", &metrics])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the apiserver of {name}: {e}"));
        let mut cluster = Self {
            name: name.to_owned(),
            child: Some(child),
            log,
        };
        let readyz = format!("http://{metrics}/readyz");
        wait::until(
            Duration::from_secs(60),
            &format!("{name}'s apiserver /readyz"),
            || {
                cluster.assert_running();
                match demo.hub_http_ok(&readyz) {
                    true => Ok(()),
                    false => Err(format!("{readyz} not 200")),
                }
            },
        );
        cluster
    }

    fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Some(status) = child.try_wait().expect("try_wait")
        {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!("the apiserver of {} exited ({status}):\n{log}", self.name);
        }
    }
}

impl Drop for ExtraCluster {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if crate::demo::keep() {
            eprintln!(
                "CLUSTERMESH_KEEP: leaving the apiserver of {} running (PID {})",
                self.name,
                child.id()
            );
            return;
        }
        // Our own child, by its PID: SIGTERM, then SIGKILL after 10 s.
        let signal = |sig: &str, pid: u32| {
            let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
        };
        signal("-TERM", child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() >= deadline {
                signal("-KILL", child.id());
                let _ = child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
