//! The six reflector stores, their tasks, and their merge into [`ClusterObjects`].

use std::collections::BTreeMap;
use std::sync::Arc;

use ::kube::core::DynamicObject;
use ::kube::runtime::reflector::store::{Store, Writer};
use ::kube::runtime::reflector::{self, Lookup};
use ::kube::{Api, Client, ResourceExt};
use futures::FutureExt;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::reflector::{Progress, Reflector};
use super::{NotListed, service_export, strip};
use crate::source::{ClusterObjects, ObjectRef};

pub(crate) struct Stores {
    services: Store<Service>,
    endpoint_slices: Store<EndpointSlice>,
    pods: Store<Pod>,
    nodes: Store<Node>,
    namespaces: Store<Namespace>,
    service_exports: Store<DynamicObject>,
}

impl Stores {
    /// Starts one reflector task per resource, all namespaces, owned by `tasks`.
    pub(crate) fn spawn(
        client: &Client,
        tasks: &mut JoinSet<()>,
        progress: &Arc<Progress>,
        stop: &CancellationToken,
    ) -> Self {
        let mut spawner = Spawner {
            client,
            tasks,
            progress,
            stop,
        };
        let export_type = service_export::api_resource();
        let (service_exports, writer) = store_with(Writer::new(export_type.clone()));
        spawner.spawn(Reflector {
            resource: "serviceexports",
            api: Api::all_with(client.clone(), &export_type),
            writer,
            strip: strip::service_export,
            optional_crd: true,
        });
        Self {
            services: spawner.typed("services", strip::metadata),
            endpoint_slices: spawner.typed("endpointslices", strip::metadata),
            pods: spawner.typed("pods", strip::metadata),
            nodes: spawner.typed("nodes", strip::node),
            namespaces: spawner.typed("namespaces", strip::metadata),
            service_exports,
        }
    }

    /// Waits until every store has completed its initial list. False if a reflector
    /// ended first, which happens only on shutdown.
    pub(crate) async fn wait_until_ready(&self) -> bool {
        let ready = futures::join!(
            self.services.wait_until_ready(),
            self.endpoint_slices.wait_until_ready(),
            self.pods.wait_until_ready(),
            self.nodes.wait_until_ready(),
            self.namespaces.wait_until_ready(),
            self.service_exports.wait_until_ready(),
        );
        ready.0.is_ok()
            && ready.1.is_ok()
            && ready.2.is_ok()
            && ready.3.is_ok()
            && ready.4.is_ok()
            && ready.5.is_ok()
    }

    /// The resources whose initial list has not completed yet, in a fixed order.
    pub(crate) fn not_listed(&self, progress: &Progress) -> Vec<NotListed> {
        let ready = [
            ("services", is_ready(&self.services)),
            ("endpointslices", is_ready(&self.endpoint_slices)),
            ("pods", is_ready(&self.pods)),
            ("nodes", is_ready(&self.nodes)),
            ("namespaces", is_ready(&self.namespaces)),
            ("serviceexports", is_ready(&self.service_exports)),
        ];
        ready
            .into_iter()
            .filter(|(_, ready)| !ready)
            .map(|(resource, _)| NotListed {
                resource,
                last_error: progress.last_error(resource),
            })
            .collect()
    }

    /// A snapshot of all stores. Each store is read on its own, so a change racing the
    /// merge shows up in the next one (the reflector has signalled it by then).
    pub(crate) fn merged(&self) -> ClusterObjects {
        ClusterObjects {
            services: namespaced(&self.services),
            endpoint_slices: namespaced(&self.endpoint_slices),
            pods: namespaced_shared(&self.pods),
            nodes: cluster_scoped(&self.nodes),
            namespaces: cluster_scoped(&self.namespaces),
            service_exports: self
                .service_exports
                .state()
                .iter()
                .filter_map(|obj| service_export::convert(obj))
                .collect(),
        }
    }
}

struct Spawner<'a> {
    client: &'a Client,
    tasks: &'a mut JoinSet<()>,
    progress: &'a Arc<Progress>,
    stop: &'a CancellationToken,
}

impl Spawner<'_> {
    fn typed<K>(&mut self, resource: &'static str, strip: fn(&mut K)) -> Store<K>
    where
        K: ::kube::Resource<DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        let (store, writer) = reflector::store();
        self.spawn(Reflector {
            resource,
            api: Api::all(self.client.clone()),
            writer,
            strip,
            optional_crd: false,
        });
        store
    }

    fn spawn<K>(&mut self, reflector: Reflector<K>)
    where
        K: ::kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
    {
        let span = tracing::info_span!("kube", resource = reflector.resource);
        let run = reflector.run(Arc::clone(self.progress), self.stop.clone());
        self.tasks.spawn(run.instrument(span));
    }
}

fn store_with<K>(writer: Writer<K>) -> (Store<K>, Writer<K>)
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    (writer.as_reader(), writer)
}

fn is_ready<K>(store: &Store<K>) -> bool
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    matches!(store.wait_until_ready().now_or_never(), Some(Ok(())))
}

fn namespaced<K>(store: &Store<K>) -> BTreeMap<ObjectRef, K>
where
    K: ::kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    namespaced_shared(store)
        .into_iter()
        .map(|(key, obj)| (key, K::clone(&obj)))
        .collect()
}

/// The reflector's own `Arc`s: it replaces one only when the object changes, so the
/// exporter can skip an unchanged object by pointer.
fn namespaced_shared<K>(store: &Store<K>) -> BTreeMap<ObjectRef, Arc<K>>
where
    K: ::kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let mut out = BTreeMap::new();
    for obj in store.state() {
        let key = ObjectRef {
            namespace: ResourceExt::namespace(&*obj).unwrap_or_default(),
            name: ResourceExt::name_any(&*obj),
        };
        out.insert(key, obj);
    }
    out
}

fn cluster_scoped<K>(store: &Store<K>) -> BTreeMap<String, K>
where
    K: ::kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store
        .state()
        .iter()
        .map(|obj| (ResourceExt::name_any(&**obj), K::clone(obj)))
        .collect()
}
