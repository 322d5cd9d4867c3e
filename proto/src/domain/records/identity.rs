use std::collections::BTreeMap;

use crate::{
    ClusterName, DnsLabel, IdentityId, ValidationError, domain::labels::validate_labels,
    error::ResultExt, pb,
};

/// A security identity, exported under `<cluster>/identities/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cluster: ClusterName,
    pub id: IdentityId,
    pub namespace: DnsLabel,
    /// Valid Kubernetes label keys and values.
    pub labels: BTreeMap<String, String>,
}

impl TryFrom<pb::Identity> for Identity {
    type Error = ValidationError;

    fn try_from(msg: pb::Identity) -> Result<Self, Self::Error> {
        let cluster = ClusterName::new(msg.cluster).at("cluster").at("identity")?;
        let id = IdentityId::try_from(msg.id).at("id").at("identity")?;
        let at = || format!("identity {id}");
        let namespace = DnsLabel::new(msg.namespace).at("namespace").at_with(at)?;
        validate_labels(&msg.labels).at("labels").at_with(at)?;
        Ok(Self {
            cluster,
            id,
            namespace,
            labels: msg.labels,
        })
    }
}

impl From<Identity> for pb::Identity {
    fn from(i: Identity) -> Self {
        Self {
            cluster: i.cluster.into(),
            id: i.id.into(),
            namespace: i.namespace.into(),
            labels: i.labels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::fixtures;

    #[test]
    fn roundtrip() {
        let domain = Identity::try_from(fixtures::identity()).expect("valid");
        assert_eq!(domain.id.cluster().get(), 1);
        assert_eq!(pb::Identity::from(domain.clone()), fixtures::identity());
        assert_eq!(
            Identity::try_from(pb::Identity::from(domain.clone())).expect("valid"),
            domain
        );
    }

    #[test]
    fn rejections() {
        fixtures::assert_rejects::<_, Identity>(
            fixtures::identity,
            &[
                (
                    |i| i.cluster = String::new(),
                    "identity: cluster: invalid cluster name \"\"",
                ),
                (
                    |i| i.id = 7,
                    "identity: id: invalid identity id 7: cluster part 0",
                ),
                (
                    |i| i.id = 1 << 16,
                    "identity: id: invalid identity id 65536: local part 0",
                ),
                (
                    |i| i.namespace = "Prod".into(),
                    "identity 65537: namespace: invalid DNS label \"Prod\"",
                ),
                (
                    |i| drop(i.labels.insert(String::new(), "x".into())),
                    "identity 65537: labels: invalid label key \"\": name must not be empty",
                ),
                (
                    |i| drop(i.labels.insert("app".into(), "-web".into())),
                    "identity 65537: labels: invalid value \"-web\" for label \"app\"",
                ),
            ],
        );
    }
}
