//! A scripted fake API server behind a `tower_test` mock service, as kube-rs tests
//! itself. It keeps a current set of objects per resource, answers lists from it, and
//! holds watch requests open until the test pushes an event (then it answers with that
//! event and the watcher reconnects from its resource version).

use std::collections::{BTreeMap, HashMap, VecDeque};

use ::kube::client::Body;
use http::{Request, Response};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tower_test::mock::{self, Handle, SendResponse};

use super::wire;

type Respond = SendResponse<Response<Body>>;

enum Command {
    Event(&'static str, &'static str, Value),
    Replace(&'static str, Vec<Value>),
    WatchError(&'static str, u16),
    FailLists(&'static str, u16, usize),
}

/// The test's handle on the fake server; dropping it stops the server.
pub(super) struct FakeApi {
    commands: mpsc::UnboundedSender<Command>,
    /// Successful lists served, per resource.
    lists: watch::Receiver<BTreeMap<String, usize>>,
    _server: JoinHandle<()>,
}

/// What the server starts with: objects per resource (plural name), and resources whose
/// CRD is not installed.
#[derive(Default)]
pub(super) struct Cluster {
    pub(super) objects: Vec<(&'static str, Value)>,
    pub(super) missing: Vec<&'static str>,
}

impl FakeApi {
    pub(super) fn start(cluster: Cluster) -> (Self, ::kube::Client) {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let mut server = Server::default();
        for (resource, object) in cluster.objects {
            server.store(resource, object);
        }
        for resource in cluster.missing {
            server.resource(resource).missing = true;
        }
        let (commands, rx) = mpsc::unbounded_channel();
        let lists = server.lists.subscribe();
        let task = tokio::spawn(server.run(handle, rx));
        let api = Self {
            commands,
            lists,
            _server: task,
        };
        (api, ::kube::Client::new(service, "default"))
    }

    /// A watch event of `kind` (ADDED, MODIFIED, DELETED); the object set follows it.
    pub(super) fn event(&self, resource: &'static str, kind: &'static str, object: Value) {
        self.send(Command::Event(resource, kind, object));
    }

    /// Replaces a resource's objects without telling any watcher, as if the events were
    /// lost; only a relist shows the difference.
    pub(super) fn replace_silently(&self, resource: &'static str, objects: Vec<Value>) {
        self.send(Command::Replace(resource, objects));
    }

    /// An ERROR watch event with this status code (410: the resource version expired).
    pub(super) fn watch_error(&self, resource: &'static str, code: u16) {
        self.send(Command::WatchError(resource, code));
    }

    /// The next `count` lists of `resource` fail with `code`.
    pub(super) fn fail_lists(&self, resource: &'static str, code: u16, count: usize) {
        self.send(Command::FailLists(resource, code, count));
    }

    /// Waits (bounded by `deadline`) until `resource` has been listed `times` times.
    pub(super) async fn listed(&self, resource: &str, times: usize, deadline: std::time::Duration) {
        let mut lists = self.lists.clone();
        let reached = lists.wait_for(|lists| lists.get(resource).copied().unwrap_or(0) >= times);
        let reached = tokio::time::timeout(deadline, reached).await;
        assert!(
            matches!(reached, Ok(Ok(_))),
            "{resource} not listed {times} times"
        );
    }

    fn send(&self, command: Command) {
        assert!(self.commands.send(command).is_ok(), "fake API server ended");
    }
}

#[derive(Default)]
struct Resource {
    objects: BTreeMap<String, Value>,
    missing: bool,
    failing_lists: VecDeque<u16>,
    open_watches: VecDeque<Respond>,
    undelivered: Vec<String>,
}

#[derive(Default)]
struct Server {
    resources: HashMap<String, Resource>,
    resource_version: u64,
    lists: watch::Sender<BTreeMap<String, usize>>,
}

impl Server {
    async fn run(
        mut self,
        mut handle: Handle<Request<Body>, Response<Body>>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            tokio::select! {
                request = handle.next_request() => match request {
                    Some((request, respond)) => self.answer(&request, respond),
                    None => break,
                },
                command = commands.recv() => match command {
                    Some(command) => self.apply(command),
                    None => break,
                },
            }
        }
    }

    fn resource(&mut self, name: &str) -> &mut Resource {
        self.resources.entry(name.to_owned()).or_default()
    }

    fn answer(&mut self, request: &Request<Body>, respond: Respond) {
        let name = request.uri().path().rsplit('/').next().unwrap_or_default();
        let watch = request
            .uri()
            .query()
            .unwrap_or_default()
            .contains("watch=true");
        let resource_version = self.resource_version;
        let resource = self.resource(name);
        if resource.missing {
            return respond.send_response(wire::status(404, "NotFound"));
        }
        if watch {
            resource.open_watches.push_back(respond);
            return resource.flush();
        }
        if let Some(code) = resource.failing_lists.pop_front() {
            return respond.send_response(wire::status(code, "InternalError"));
        }
        let list = json!({
            "apiVersion": "v1",
            "kind": "List",
            "metadata": { "resourceVersion": resource_version.to_string() },
            "items": resource.objects.values().collect::<Vec<_>>(),
        });
        respond.send_response(Response::new(Body::from(list.to_string().into_bytes())));
        self.lists
            .send_modify(|lists| *lists.entry(name.to_owned()).or_default() += 1);
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Event(resource, kind, object) => {
                let object = match kind {
                    "DELETED" => {
                        let key = wire::key(&object);
                        let mut object = self
                            .resource(resource)
                            .objects
                            .remove(&key)
                            .unwrap_or(object);
                        self.resource_version += 1;
                        object["metadata"]["resourceVersion"] =
                            json!(self.resource_version.to_string());
                        object
                    }
                    _ => self.store(resource, object),
                };
                let line = json!({ "type": kind, "object": object }).to_string();
                self.resource(resource).deliver(line);
            }
            Command::Replace(resource, objects) => {
                self.resource(resource).objects.clear();
                for object in objects {
                    self.store(resource, object);
                }
            }
            Command::WatchError(resource, code) => {
                let line = json!({ "type": "ERROR", "object": wire::status_json(code, "Expired") });
                self.resource(resource).deliver(line.to_string());
            }
            Command::FailLists(resource, code, count) => {
                let failing = &mut self.resource(resource).failing_lists;
                failing.extend(std::iter::repeat_n(code, count));
            }
        }
    }

    /// Stores the object as the API server returns it (see [`wire::as_served`]).
    fn store(&mut self, resource: &str, mut object: Value) -> Value {
        self.resource_version += 1;
        wire::as_served(resource, &mut object, self.resource_version);
        let key = wire::key(&object);
        self.resource(resource).objects.insert(key, object.clone());
        object
    }
}

impl Resource {
    fn deliver(&mut self, line: String) {
        self.undelivered.push(line);
        self.flush();
    }

    /// Answers an open watch with everything not delivered yet.
    fn flush(&mut self) {
        if self.undelivered.is_empty() {
            return;
        }
        let Some(respond) = self.open_watches.pop_front() else {
            return;
        };
        let mut body = self.undelivered.drain(..).collect::<Vec<_>>().join("\n");
        body.push('\n');
        respond.send_response(Response::new(Body::from(body.into_bytes())));
    }
}
