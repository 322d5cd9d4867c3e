//! A client from the kubeconfig, or from the pod's service account.

use ::kube::config::{Config, KubeConfigOptions};

use super::KubeSourceError;

/// A named context must exist in the kubeconfig: falling back to in-cluster credentials
/// would silently read another cluster. Without a name, `Config::infer` decides: the
/// kubeconfig's current context if there is one, else the in-cluster service account.
pub(crate) async fn for_context(context: Option<&str>) -> Result<::kube::Client, KubeSourceError> {
    let (config, label) = match context {
        Some(name) => {
            let options = KubeConfigOptions {
                context: Some(name.to_owned()),
                ..KubeConfigOptions::default()
            };
            let config = Config::from_kubeconfig(&options).await.map_err(|source| {
                KubeSourceError::Kubeconfig {
                    context: name.to_owned(),
                    source,
                }
            })?;
            (config, format!("context {name:?}"))
        }
        None => {
            let config = Config::infer().await.map_err(KubeSourceError::Infer)?;
            (config, "the current context or in-cluster".to_owned())
        }
    };
    tracing::debug!(cluster_url = %config.cluster_url, context = %label, "Kubernetes client");
    ::kube::Client::try_from(config).map_err(|source| KubeSourceError::Client {
        context: label,
        source,
    })
}
