//! The real binary end to end: `init` two clusters, `run` them with the embedded raft
//! store and a manifest directory, connect them through the Admin API with the admin
//! credentials `init` wrote into the ctl config, and stop them with SIGTERM.

mod support;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use clustermesh_proto::{client_config::ClientConfig, pb};
use support::{manifests, one_way, within};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    process::{Child, Command},
};

const WAIT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("address").port()
}

struct Process {
    child: Child,
    metrics: String,
}

async fn start(tmp: &Path, name: &str, id: u32, ctl_config: &Path) -> Process {
    let bin = env!("CARGO_BIN_EXE_clustermesh-apiserver");
    let data = tmp.join(name);
    let api = format!("127.0.0.1:{}", free_port());
    let metrics = format!("127.0.0.1:{}", free_port());
    let raft = format!("127.0.0.1:{}", free_port());
    let init = std::process::Command::new(bin)
        .args([
            "init",
            "--cluster-name",
            name,
            "--cluster-id",
            &id.to_string(),
        ])
        .arg("--data-dir")
        .arg(&data)
        .args(["--advertise", &api])
        .arg("--ctl-config")
        .arg(ctl_config)
        .output()
        .expect("init runs");
    assert!(
        init.status.success(),
        "init: {}",
        String::from_utf8_lossy(&init.stderr)
    );

    let manifest_dir = tmp.join(format!("{name}-manifests"));
    std::fs::create_dir_all(&manifest_dir).expect("manifest dir");
    manifests::write(
        &manifest_dir,
        "cluster.yaml",
        &manifests::cluster(name, id, true),
    );
    let child = Command::new(bin)
        .arg("run")
        .arg("--data-dir")
        .arg(&data)
        .args([
            "--listen",
            &api,
            "--metrics-listen",
            &metrics,
            "--raft-listen",
            &raft,
        ])
        .arg(format!("--source=manifests:{}", manifest_dir.display()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run starts");
    Process { child, metrics }
}

/// A plain HTTP/1.1 GET; `None` while nothing listens.
async fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.split(' ').nth(1)?.parse().ok()?;
    Some((code, response))
}

async fn admin(
    config: &ClientConfig,
    name: &str,
) -> pb::admin_client::AdminClient<tonic::transport::Channel> {
    let context = config.context(Some(name)).expect("context written by init");
    let channel = context
        .endpoint()
        .expect("endpoint")
        .connect()
        .await
        .expect("admin connects");
    pb::admin_client::AdminClient::new(channel)
}

async fn terminate(mut process: Process) -> (bool, String) {
    let pid = process.child.id().expect("running").to_string();
    // Our own child, by its PID.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, process.child.wait())
        .await
        .expect("exits within 30 s")
        .expect("wait");
    let mut stderr = String::new();
    if let Some(mut pipe) = process.child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr).await;
    }
    (status.success(), stderr)
}

#[tokio::test]
async fn init_run_connect_and_stop_the_real_binary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctl_config: PathBuf = tmp.path().join("ctl.yaml");
    let a = start(tmp.path(), "a", 1, &ctl_config).await;
    let b = start(tmp.path(), "b", 2, &ctl_config).await;
    for process in [&a, &b] {
        within(WAIT, "readyz 200", || async {
            get(&process.metrics, "/readyz")
                .await
                .is_some_and(|(code, _)| code == 200)
        })
        .await;
    }

    let config = ClientConfig::load(&ctl_config).expect("ctl config");
    let mut admin_a = admin(&config, "a").await;
    let mut admin_b = admin(&config, "b").await;
    one_way(&mut admin_a, &mut admin_b)
        .await
        .expect("a imports b");
    one_way(&mut admin_b, &mut admin_a)
        .await
        .expect("b imports a");
    within(WAIT, "a sees demo/web in both clusters", || {
        let mut admin_a = admin_a.clone();
        async move {
            let services = admin_a
                .list_global_services(pb::ListGlobalServicesRequest::default())
                .await
                .expect("list")
                .into_inner()
                .services;
            services
                .first()
                .is_some_and(|s| s.clusters.len() == 2 && s.clusters.iter().all(|c| c.reachable))
        }
    })
    .await;
    // Peer metrics are refreshed every second.
    within(WAIT, "metrics show b connected and its records", || async {
        get(&a.metrics, "/metrics")
            .await
            .is_some_and(|(_, metrics)| {
                metrics.contains("clustermesh_peer_connected{peer=\"b\"} 1")
                    && metrics.contains("clustermesh_records{cluster=\"b\",kind=\"services\"} 1")
                    && metrics.contains("clustermesh_records{cluster=\"a\",kind=\"services\"} 1")
            })
    })
    .await;

    for process in [a, b] {
        let (clean, stderr) = terminate(process).await;
        assert!(clean, "exit after SIGTERM was not clean: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
