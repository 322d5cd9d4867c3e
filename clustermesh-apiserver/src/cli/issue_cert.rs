//! `clustermesh-apiserver issue-cert`.

use std::{io::Write, path::PathBuf};

use anyhow::Context as _;
use clustermesh_proto::tls::{PeerIdentity, Role};

use crate::data_dir::{
    DataDir, LEAF_VALIDITY, NewFile, WriteFilesError, ensure_private_dir, write_new_files,
};

/// The files written to `--out`, in the layout Kubernetes TLS secrets use.
pub const OUT_CA_FILE: &str = "ca.crt";
pub const OUT_CERT_FILE: &str = "tls.crt";
pub const OUT_KEY_FILE: &str = "tls.key";

#[derive(Debug, Clone, clap::Args)]
pub struct IssueCertArgs {
    /// The data directory holding the cluster's CA.
    #[arg(long, env = "CLUSTERMESH_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// `agent` (a node agent) or `admin` (an operator using ctl).
    #[arg(long, value_name = "ROLE", value_parser = parse_issuable_role)]
    pub role: Role,

    /// The node's name for an agent; the operator's name for an admin.
    #[arg(long, value_name = "NAME")]
    pub name: String,

    /// The directory to write ca.crt, tls.crt and tls.key to; existing files are
    /// never overwritten.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Only the roles this command may issue; the others say where they come from.
fn parse_issuable_role(value: &str) -> Result<Role, String> {
    match value.parse::<Role>() {
        Ok(role @ (Role::Agent | Role::Admin)) => Ok(role),
        Ok(Role::Peer) => Err("peer certificates are issued only by `ctl connect`, which \
                               exchanges CSRs with the peer cluster; expected agent or admin"
            .into()),
        Ok(Role::Server) => Err("the server certificate is created by \
                                 `clustermesh-apiserver init`; expected agent or admin"
            .into()),
        Err(_) => Err(format!("unknown role {value:?}: expected agent or admin")),
    }
}

pub(super) fn run(args: IssueCertArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let loaded = DataDir::open(&args.data_dir)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    let ca = loaded.ca();
    let identity = PeerIdentity::new(ca.cluster().clone(), args.role, &args.name)
        .map_err(|e| anyhow::anyhow!("--name: {e}"))?;
    ensure_private_dir(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
    let issued = ca.issue(args.role, &args.name, &[], LEAF_VALIDITY)?;
    let files = [
        NewFile {
            name: OUT_CA_FILE,
            contents: ca.cert_pem().as_bytes(),
            mode: 0o644,
        },
        NewFile {
            name: OUT_CERT_FILE,
            contents: issued.cert_pem.as_bytes(),
            mode: 0o644,
        },
        NewFile {
            name: OUT_KEY_FILE,
            contents: issued.key_pem.as_bytes(),
            mode: 0o600,
        },
    ];
    write_new_files(&args.out, &files, &[]).map_err(|e| match e {
        WriteFilesError::Exist(_) => anyhow::anyhow!("--out {}: {e}", args.out.display()),
        other => anyhow::Error::new(other),
    })?;
    let days = LEAF_VALIDITY.as_secs() / (24 * 60 * 60);
    writeln!(
        out,
        "issued {} certificate {identity}, valid for {days} days:",
        args.role
    )?;
    for file in [OUT_CA_FILE, OUT_CERT_FILE, OUT_KEY_FILE] {
        writeln!(out, "  {}", args.out.join(file).display())?;
    }
    Ok(())
}
