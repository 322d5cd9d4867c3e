//! Affinity: which side's healthy backends a frontend uses.

use super::*;

fn with_affinity(affinity: pb::Affinity) -> Vec<pb::GlobalService> {
    let mut services = web_everywhere();
    services[0].affinity = affinity.into();
    services
}

fn web_backends(services: Vec<pb::GlobalService>) -> Vec<BackendTarget> {
    let state = desired(world_with(services));
    let web = state.services.get(&frontend(VIP, 80)).expect("frontend");
    web.backends.clone()
}

fn unready(mut services: Vec<pb::GlobalService>, cluster: &str) -> Vec<pb::GlobalService> {
    services
        .iter_mut()
        .filter(|s| s.cluster == cluster)
        .flat_map(|s| s.backends.iter_mut())
        .for_each(|b| b.ready = false);
    services
}

fn remote_targets() -> Vec<BackendTarget> {
    all_web_targets()
        .into_iter()
        .filter(|t| t.cluster != "a")
        .collect()
}

#[test]
fn none_uses_every_healthy_backend() {
    assert_eq!(
        web_backends(with_affinity(pb::Affinity::None)),
        all_web_targets()
    );
}

#[test]
fn local_prefers_local_backends_while_one_is_healthy() {
    let local = with_affinity(pb::Affinity::Local);
    assert_eq!(
        web_backends(local.clone()),
        [target("10.1.1.5", 8080, "a", "a1")]
    );
    assert_eq!(
        transition(world_with(local.clone()), world_with(unready(local, "a"))),
        [set_web(remote_targets())],
        "fails over to remote backends"
    );
}

#[test]
fn local_prefers_a_ready_remote_backend_over_a_draining_local_one() {
    let mut local = with_affinity(pb::Affinity::Local);
    local[0].backends[0].ready = false;
    local[0].backends[0].terminating = true;
    assert_eq!(web_backends(local), remote_targets());
}

#[test]
fn remote_prefers_remote_backends_and_falls_back_to_local() {
    let remote = with_affinity(pb::Affinity::Remote);
    assert_eq!(web_backends(remote.clone()), remote_targets());
    let remote_down = unready(unready(remote, "b"), "c");
    assert_eq!(
        web_backends(remote_down),
        [target("10.1.1.5", 8080, "a", "a1")]
    );
}

#[test]
fn remote_falls_back_to_local_when_peers_are_unreachable() {
    let mut view = view_of(world_with(with_affinity(pb::Affinity::Remote)));
    view.apply(peer_state("b", false)).expect("peer state");
    view.apply(peer_state("c", false)).expect("peer state");
    let state = desired_of(&view);
    let web = state.services.get(&frontend(VIP, 80)).expect("frontend");
    assert_eq!(web.backends, [target("10.1.1.5", 8080, "a", "a1")]);
}

#[test]
fn affinity_is_read_from_our_own_copy() {
    let mut services = with_affinity(pb::Affinity::None);
    services[1].affinity = pb::Affinity::Local.into();
    services[2].affinity = pb::Affinity::Remote.into();
    assert_eq!(web_backends(services), all_web_targets());
}
