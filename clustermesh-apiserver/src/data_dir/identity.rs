//! `cluster.yaml`: who this cluster is. Written once by `init`.

use std::path::Path;

use clustermesh_proto::{Cidr, ClusterId, ClusterName, HostPort, first_overlap_within};
use serde::{Deserialize, Serialize};

use super::DataDirError;

/// The cluster's identity in the mesh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ClusterIdentity {
    pub name: ClusterName,
    pub id: ClusterId,
    /// Where peers and agents reach this apiserver; also a name in its certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertise: Option<HostPort>,
    /// Pod CIDRs declared up front, for checking overlaps with peers before any node
    /// has registered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pod_cidrs: Vec<Cidr>,
}

impl ClusterIdentity {
    /// What the field types cannot check alone: declared pod CIDRs must not overlap.
    pub fn validate(&self) -> Result<(), String> {
        match first_overlap_within(&self.pod_cidrs) {
            Some((i, j)) => Err(format!(
                "pod CIDRs {} and {} overlap",
                self.pod_cidrs[i], self.pod_cidrs[j]
            )),
            None => Ok(()),
        }
    }

    pub(super) fn to_yaml(&self) -> Result<String, String> {
        let text = serde_yaml_ng::to_string(self).map_err(|e| e.to_string())?;
        Ok(format!(
            "# Written by `clustermesh-apiserver init`; the cluster's identity in the mesh.\n{text}"
        ))
    }

    pub(super) fn parse(path: &Path, text: &str) -> Result<Self, DataDirError> {
        let identity: Self =
            serde_yaml_ng::from_str(text).map_err(|e| DataDirError::invalid(path, e))?;
        identity
            .validate()
            .map_err(|reason| DataDirError::invalid(path, reason))?;
        Ok(identity)
    }
}
