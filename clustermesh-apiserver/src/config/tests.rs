use std::path::Path;

use clap::Parser;
use clustermesh_proto::ClusterName;

use super::*;
use crate::data_dir::ClusterIdentity;

#[derive(Parser)]
struct TestCli {
    #[command(flatten)]
    args: RunArgs,
}

/// A data directory and a manifests directory that validate.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let identity = ClusterIdentity {
            name: ClusterName::new("a").expect("valid"),
            id: "1".parse().expect("valid"),
            advertise: None,
            pod_cidrs: Vec::new(),
        };
        DataDir::init(&tmp.path().join("data"), identity).expect("init");
        std::fs::create_dir(tmp.path().join("manifests")).expect("mkdir");
        Self { tmp }
    }

    fn path(&self, name: &str) -> String {
        self.tmp.path().join(name).display().to_string()
    }

    /// Parses the minimal valid flags followed by `extra`.
    fn args(&self, extra: &[&str]) -> RunArgs {
        let mut argv = vec![
            "run".to_owned(),
            "--data-dir".to_owned(),
            self.path("data"),
            "--listen".to_owned(),
            "127.0.0.1:7443".to_owned(),
        ];
        if !extra.iter().any(|arg| arg.starts_with("--source")) {
            argv.push(format!("--source=manifests:{}", self.path("manifests")));
        }
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        TestCli::try_parse_from(argv).expect("parses").args
    }

    fn validate(&self, extra: &[&str]) -> Result<RunConfig, ConfigError> {
        self.args(extra).validate()
    }

    fn refused(&self, extra: &[&str], expected: &[&str]) {
        let err = self
            .validate(extra)
            .expect_err("must be refused")
            .to_string();
        for part in expected {
            assert!(err.contains(part), "{extra:?}: {part:?} not in {err:?}");
        }
    }
}

#[test]
fn defaults() {
    let f = Fixture::new();
    let config = f.validate(&[]).expect("valid");
    assert_eq!(
        config.store,
        StoreSpec::Raft {
            node_id: 1,
            listen: None,
            peers: Vec::new()
        }
    );
    assert_eq!(
        config.source,
        SourceSpec::Manifests(f.path("manifests").into())
    );
    assert_eq!(config.peer_timeout, Duration::from_secs(3));
    assert_eq!(config.peer_cache_ttl, None);
    assert_eq!(config.node_lease_ttl, Duration::from_secs(3));
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(config.metrics_listen, None);
}

#[test]
fn accepts_every_form() {
    let f = Fixture::new();
    let config = f
        .validate(&[
            "--source=kube:prod",
            "--store=etcd://10.0.0.1:2379,etcd.example.com:2379",
            "--metrics-listen=0.0.0.0:9090",
            "--peer-timeout=1m30s",
            "--peer-cache-ttl=10m",
            "--node-lease-ttl=1500ms",
            "--log-format=json",
        ])
        .expect("valid");
    assert_eq!(
        config.source,
        SourceSpec::Kube {
            context: Some("prod".into())
        }
    );
    let endpoints = vec![
        "http://10.0.0.1:2379".into(),
        "http://etcd.example.com:2379".into(),
    ];
    assert_eq!(config.store, StoreSpec::Etcd { endpoints });
    assert_eq!(config.peer_timeout, Duration::from_secs(90));
    assert_eq!(config.peer_cache_ttl, Some(Duration::from_secs(600)));
    assert_eq!(config.node_lease_ttl, Duration::from_millis(1500));
    assert_eq!(config.log_format, LogFormat::Json);

    let config = f
        .validate(&["--source=kube", "--store=memory"])
        .expect("valid");
    assert_eq!(config.source, SourceSpec::Kube { context: None });
    assert_eq!(config.store, StoreSpec::Memory);
}

#[test]
fn raft_replica_set() {
    let f = Fixture::new();
    let peers = "--raft-peers=3=10.0.0.3:7444,1=10.0.0.1:7444,2=10.0.0.2:7444";
    let config = f
        .validate(&["--raft-node-id=2", "--raft-listen=10.0.0.2:7444", peers])
        .expect("valid");
    let StoreSpec::Raft {
        node_id,
        listen,
        peers,
    } = config.store
    else {
        panic!("not raft: {:?}", config.store);
    };
    assert_eq!((node_id, listen), (2, "10.0.0.2:7444".parse().ok()));
    let ids: Vec<u64> = peers.iter().map(|p| p.id).collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn refuses_bad_sources() {
    let f = Fixture::new();
    f.refused(
        &["--source=git:x"],
        &["--source", "\"git:x\"", "manifests:PATH"],
    );
    f.refused(&["--source=kube:"], &["--source", "\"kube:\""]);
    f.refused(&["--source=kubernetes"], &["--source", "\"kubernetes\""]);
    let missing = format!("--source=manifests:{}", f.path("nope"));
    f.refused(&[&missing], &["--source", "nope"]);
    let file = format!("--source=manifests:{}/data/cluster.yaml", f.path(""));
    f.refused(&[&file], &["--source", "not a directory"]);
}

#[test]
fn refuses_bad_stores() {
    let f = Fixture::new();
    f.refused(&["--store=sqlite"], &["--store", "\"sqlite\""]);
    f.refused(&["--store=etcd://"], &["--store", "etcd endpoint \"\""]);
    f.refused(&["--store=etcd://h:1,h:1"], &["--store", "listed twice"]);
    f.refused(&["--store=etcd://h"], &["--store", "\"h\""]);
    f.refused(
        &["--store=memory", "--raft-peers=1=127.0.0.1:1"],
        &["--raft-peers", "memory"],
    );
    f.refused(
        &["--store=memory", "--raft-node-id=2"],
        &["--raft-node-id", "only applies"],
    );
}

#[test]
fn refuses_bad_raft_peers() {
    let f = Fixture::new();
    let listen = "--raft-listen=127.0.0.1:7444";
    let cases: &[(&str, &[&str])] = &[
        (
            "2=host",
            &["--raft-peers", "\"2=host\" is not ID=HOST:PORT"],
        ),
        (
            "x=127.0.0.1:7444",
            &["--raft-peers", "\"x=127.0.0.1:7444\""],
        ),
        ("1=node-a:7444", &["--raft-peers", "IP address and port"]),
        ("0=127.0.0.1:7444", &["--raft-peers", "start at 1"]),
        (
            "1=127.0.0.1:7444,1=127.0.0.1:7445,3=127.0.0.1:7446",
            &["node id 1 is listed twice"],
        ),
        (
            "1=127.0.0.1:7444,2=127.0.0.1:7444,3=127.0.0.1:7446",
            &["address 127.0.0.1:7444"],
        ),
        (
            "1=127.0.0.1:7444,2=127.0.0.1:7445",
            &["1, 3 or 5 members, not 2"],
        ),
        ("1=127.0.0.1:7444,", &["--raft-peers", "\"\""]),
        (
            "2=127.0.0.1:7444",
            &["--raft-node-id 1 is not among", "(2)"],
        ),
    ];
    for (peers, expected) in cases {
        f.refused(&[listen, &format!("--raft-peers={peers}")], expected);
    }
    f.refused(
        &["--raft-peers=1=127.0.0.1:7444"],
        &["--raft-listen", "required with --raft-peers"],
    );
    f.refused(
        &[
            "--raft-listen=0.0.0.0:7444",
            "--raft-peers=1=127.0.0.1:7444",
        ],
        &["--raft-listen 0.0.0.0:7444 differs", "1=127.0.0.1:7444"],
    );
    f.refused(&["--raft-node-id=0"], &["--raft-node-id", "start at 1"]);
}

#[test]
fn refuses_colliding_listen_addresses() {
    let f = Fixture::new();
    f.refused(
        &["--metrics-listen=127.0.0.1:7443"],
        &["--listen", "--metrics-listen", "7443"],
    );
    f.refused(
        &["--raft-listen=0.0.0.0:7443"],
        &["--listen", "--raft-listen"],
    );
    f.refused(
        &["--raft-listen=127.0.0.1:9000", "--metrics-listen=[::]:9000"],
        &["--raft-listen", "--metrics-listen"],
    );
    // Different addresses, or ephemeral ports, do not collide.
    f.validate(&["--metrics-listen=127.0.0.2:7443"])
        .expect("valid");
    let mut args = f.args(&["--metrics-listen=127.0.0.1:0", "--raft-listen=127.0.0.1:0"]);
    args.listen = "127.0.0.1:0".parse().expect("valid");
    args.validate().expect("valid");
}

#[test]
fn refuses_bad_durations() {
    let f = Fixture::new();
    for bad in [
        "3",
        "",
        "s",
        "3x",
        "1.5s",
        "-1s",
        "99999999999999999999s",
        "3s ",
        "１s",
    ] {
        f.refused(&[&format!("--peer-timeout={bad}")], &["--peer-timeout"]);
    }
    f.refused(
        &["--peer-timeout=399ms"],
        &["--peer-timeout", "out of range", "at least 400ms"],
    );
    f.validate(&["--peer-timeout=400ms"])
        .expect("four of the fastest heartbeats fit");
    f.refused(
        &["--peer-timeout=5m1s"],
        &["--peer-timeout", "out of range"],
    );
    f.validate(&["--peer-timeout=5m"])
        .expect("the maximum is allowed");
    f.refused(
        &["--peer-cache-ttl=forever"],
        &["--peer-cache-ttl", "\"forever\""],
    );
    f.refused(
        &["--peer-cache-ttl=0s"],
        &["--peer-cache-ttl", "at least 1s"],
    );
    f.refused(
        &["--node-lease-ttl=999ms"],
        &["--node-lease-ttl", "at least 1s"],
    );
    f.refused(&["--node-lease-ttl=1y"], &["--node-lease-ttl", "\"1y\""]);
    let huge = format!("--node-lease-ttl={}h", u64::MAX / 1000);
    f.refused(&[&huge], &["--node-lease-ttl", "too long"]);
}

#[test]
fn parse_duration_sums_terms() {
    assert_eq!(
        parse_duration("1h1m1s1ms"),
        Ok(Duration::from_millis(3_661_001))
    );
    assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
}

#[test]
fn refuses_a_missing_or_broken_data_dir() {
    let f = Fixture::new();
    let mut args = f.args(&[]);
    args.data_dir = f.tmp.path().join("nope");
    let err = args.validate().expect_err("missing");
    assert!(err.to_string().starts_with("--data-dir"), "{err}");
    let source = std::error::Error::source(&err).expect("cause").to_string();
    assert!(source.contains("does not exist"), "{source}");

    let key = Path::new(&f.path("data")).join("ca.key");
    std::fs::write(&key, "garbage").expect("write");
    let err = f.validate(&[]).expect_err("broken CA key");
    let source = std::error::Error::source(&err).expect("cause").to_string();
    assert!(source.contains("ca.key"), "{source}");
}

#[test]
fn flags_come_from_the_environment_too() {
    // clap reads `env` only when the flag is absent; check the attribute is wired by
    // inspecting the command rather than mutating this process's environment.
    let command = <TestCli as clap::CommandFactory>::command();
    for arg in command.get_arguments().filter(|a| a.get_long().is_some()) {
        let long = arg.get_long().unwrap_or_default();
        if long == "help" {
            continue;
        }
        let expected = format!("CLUSTERMESH_{}", long.to_uppercase().replace('-', "_"));
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
        assert_eq!(env.as_deref(), Some(expected.as_str()), "--{long}");
    }
}
