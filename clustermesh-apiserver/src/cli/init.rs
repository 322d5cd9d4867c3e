//! `clustermesh-apiserver init`.

use std::{io::Write, path::PathBuf};

use anyhow::Context as _;
use clustermesh_proto::{
    Cidr, ClusterId, ClusterName, HostPort,
    client_config::{ClientConfig, Context},
    tls,
};

use crate::data_dir::{ClusterIdentity, DataDir};

/// Where the ctl context points without `--advertise`: the apiserver on this host, at
/// the port the docs use for `--listen`.
pub const DEFAULT_CONTEXT_SERVER: &str = "127.0.0.1:7443";

#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// The cluster's name, unique in the mesh.
    #[arg(long, env = "CLUSTERMESH_CLUSTER_NAME", value_name = "NAME")]
    pub cluster_name: ClusterName,

    /// The cluster's numeric id, 1..=255, unique in the mesh.
    #[arg(long, env = "CLUSTERMESH_CLUSTER_ID", value_name = "N")]
    pub cluster_id: ClusterId,

    /// The directory to create; it must not hold a cluster already.
    #[arg(long, env = "CLUSTERMESH_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Where peers, agents and ctl reach this apiserver; its host goes into the serving
    /// certificate. The ctl context uses it too (default 127.0.0.1:7443).
    #[arg(long, env = "CLUSTERMESH_ADVERTISE", value_name = "HOST:PORT")]
    pub advertise: Option<HostPort>,

    /// The cluster's pod CIDRs, declared up front (repeat, or separate with commas).
    #[arg(
        long = "pod-cidr",
        env = "CLUSTERMESH_POD_CIDRS",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub pod_cidrs: Vec<Cidr>,

    /// The ctl config file to add the context to (default
    /// ~/.config/clustermesh/config.yaml).
    #[arg(long, env = "CLUSTERMESH_CONFIG", value_name = "FILE")]
    pub ctl_config: Option<PathBuf>,
}

/// `init` with its summary written to `out` (tests pass a buffer).
pub fn run(args: InitArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let ctl_path = match args.ctl_config {
        Some(path) => path,
        None => ClientConfig::default_path()?,
    };
    // Loaded first: a broken ctl config must stop us before any key is generated.
    let mut ctl = ClientConfig::load(&ctl_path)?;
    let server = match &args.advertise {
        Some(advertise) => advertise.clone(),
        None => DEFAULT_CONTEXT_SERVER.parse()?,
    };
    let identity = ClusterIdentity {
        name: args.cluster_name.clone(),
        id: args.cluster_id,
        advertise: args.advertise,
        pod_cidrs: args.pod_cidrs,
    };
    let loaded = DataDir::init(&args.data_dir, identity)?;
    let admin = loaded.admin_cert_paths();
    let name = args.cluster_name;
    let context = Context {
        name: name.clone(),
        server,
        cluster: name.clone(),
        certificate_authority: admin.ca_cert,
        client_certificate: admin.cert,
        client_key: admin.key,
    };
    let server = context.server.clone();
    let replaced = ctl.upsert_context(context);
    ctl.save(&ctl_path).with_context(|| {
        format!(
            "the data directory {} was created, but its ctl context was not saved",
            loaded.path().display()
        )
    })?;

    let mut names = vec![tls::apiserver_server_name(&name)];
    names.extend(
        loaded
            .identity()
            .advertise
            .iter()
            .map(|a| a.host().to_owned()),
    );
    for loopback in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|n| n == loopback) {
            names.push(loopback.to_owned());
        }
    }
    writeln!(
        out,
        "initialized cluster {name} (id {}) in {}",
        loaded.identity().id,
        loaded.path().display()
    )?;
    writeln!(out, "  ca.crt, ca.key            the cluster's CA")?;
    writeln!(
        out,
        "  server.crt, server.key    serving certificate for {}",
        names.join(", ")
    )?;
    writeln!(out, "  admin.crt, admin.key      admin certificate for ctl")?;
    writeln!(out, "  cluster.yaml, peers/, store/")?;
    let verb = if replaced.is_some() {
        "replaced"
    } else {
        "added"
    };
    writeln!(
        out,
        "{verb} context {name} (server {server}) in {}",
        ctl_path.display()
    )?;
    if ctl.current_context.as_ref() != Some(&name) {
        let current = ctl.current_context.as_ref().map(ClusterName::as_str);
        writeln!(
            out,
            "the current context is still {}; select this one with --context {name}",
            current.unwrap_or("unset")
        )?;
    }
    Ok(())
}
