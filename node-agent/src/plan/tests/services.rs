//! Global services: merge rule, health and port mapping.

use super::*;

fn with_backend(
    mut services: Vec<pb::GlobalService>,
    ip: &str,
    f: impl FnOnce(&mut pb::Backend),
) -> Vec<pb::GlobalService> {
    let found = services
        .iter_mut()
        .flat_map(|s| s.backends.iter_mut())
        .find(|b| b.ip == ip);
    f(found.expect("backend in fixture"));
    services
}

fn from(services: Vec<pb::GlobalService>, after: Vec<pb::GlobalService>) -> Vec<Change> {
    transition(world_with(services), world_with(after))
}

#[test]
fn service_changes_come_after_tunnel_changes() {
    let changes = plan(
        &desired(world_with(web_everywhere())),
        &ObservedState::default(),
    );
    let kinds: Vec<&str> = changes
        .iter()
        .map(|c| match c {
            Change::AddPeer(..) => "add-peer",
            Change::AddRoute(_) => "add-route",
            Change::SetService(..) => "set-service",
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "add-peer",
            "add-peer",
            "add-peer",
            "add-route",
            "add-route",
            "set-service"
        ]
    );
    assert_eq!(changes.last(), Some(&set_web(all_web_targets())));
}

#[test]
fn backends_merge_across_three_clusters() {
    assert_eq!(from(vec![], web_everywhere()), [set_web(all_web_targets())]);
}

#[test]
fn a_service_not_defined_locally_is_not_programmed() {
    let remote_only: Vec<_> = web_everywhere()
        .into_iter()
        .filter(|s| s.cluster != "a")
        .collect();
    assert_eq!(from(vec![], remote_only), []);

    let mut headless = web_everywhere();
    headless[0].vip.clear();
    assert_eq!(from(vec![], headless), []);
}

#[test]
fn removing_the_local_service_removes_its_frontends() {
    let remote_only: Vec<_> = web_everywhere()
        .into_iter()
        .filter(|s| s.cluster != "a")
        .collect();
    assert_eq!(
        from(web_everywhere(), remote_only),
        [Change::RemoveService(frontend(VIP, 80))]
    );
}

#[test]
fn a_remote_service_that_is_not_shared_is_excluded() {
    let mut services = web_everywhere();
    services[2].shared = false;
    let mut expected = all_web_targets();
    expected.retain(|t| t.cluster != "c");
    assert_eq!(from(web_everywhere(), services), [set_web(expected)]);
}

#[test]
fn our_own_shared_flag_does_not_hide_our_backends_from_us() {
    let mut services = web_everywhere();
    services[0].shared = false;
    assert_eq!(from(web_everywhere(), services), []);
}

#[test]
fn backends_going_unready_leave_and_an_empty_service_rejects() {
    let one_down = with_backend(web_everywhere(), "10.2.1.5", |b| b.ready = false);
    let mut expected = all_web_targets();
    expected.retain(|t| t.ip.to_string() != "10.2.1.5");
    assert_eq!(from(web_everywhere(), one_down), [set_web(expected)]);

    let mut all_down = web_everywhere();
    all_down
        .iter_mut()
        .flat_map(|s| s.backends.iter_mut())
        .for_each(|b| b.ready = false);
    // The frontend stays, with no backend: executors reject rather than black-hole.
    assert_eq!(from(web_everywhere(), all_down), [set_web(vec![])]);
}

#[test]
fn terminating_serving_backends_are_used_only_when_none_is_ready() {
    let draining = |b: &mut pb::Backend| {
        b.ready = false;
        b.terminating = true;
    };
    let one_draining = with_backend(web_everywhere(), "10.1.1.5", draining);
    let mut expected = all_web_targets();
    expected.remove(0);
    assert_eq!(from(web_everywhere(), one_draining), [set_web(expected)]);

    let mut all_draining = web_everywhere();
    all_draining
        .iter_mut()
        .flat_map(|s| s.backends.iter_mut())
        .for_each(draining);
    // Not serving any more: excluded even as a last resort.
    let all_draining = with_backend(all_draining, "10.2.2.5", |b| b.serving = false);
    let mut expected = all_web_targets();
    expected.remove(2);
    assert_eq!(from(web_everywhere(), all_draining), [set_web(expected)]);
}

#[test]
fn a_node_losing_its_lease_takes_its_backends_out_and_stops_being_a_peer() {
    let before = world_with(web_everywhere());
    let after = with_node(before.clone(), "b1", |n| *n = lease_expired(n.clone()));
    let mut expected = all_web_targets();
    let lost = expected.remove(1);
    assert_eq!(
        transition(before.clone(), after.clone()),
        [Change::RemovePeer(key(11)), set_web(expected)]
    );
    // Connections still being set up to the dead node's backend start afresh.
    assert_eq!(
        forget_flows(before, after),
        [Change::ForgetFlows(
            frontend(VIP, 80),
            vec![SocketAddr::new(lost.ip, lost.port)]
        )]
    );
}

#[test]
fn a_local_node_losing_its_lease_takes_its_backends_out() {
    let before = world_with(web_everywhere());
    let after = with_node(before.clone(), "a1", |n| *n = lease_expired(n.clone()));
    let mut expected = all_web_targets();
    expected.remove(0);
    assert_eq!(transition(before, after), [set_web(expected)]);
}

#[test]
fn a_backend_on_an_unknown_node_is_excluded_and_one_naming_none_is_kept() {
    let mut services = with_backend(web_everywhere(), "10.2.1.5", |b| b.node = "b9".into());
    services = with_backend(services, "10.3.1.5", |b| b.node.clear());
    let mut expected = all_web_targets();
    expected.remove(1);
    expected[2].node = None;
    assert_eq!(from(web_everywhere(), services), [set_web(expected)]);
}

#[test]
fn an_unreachable_peer_loses_its_backends_but_keeps_its_tunnels() {
    let records = world_with(web_everywhere());
    let before = desired(records.clone());
    let mut view = view_of(records);
    view.apply(peer_state("b", false)).expect("peer state");
    view.apply(peer_state("c", true)).expect("peer state");
    let mut expected = all_web_targets();
    expected.retain(|t| t.cluster != "b");
    let unreachable = desired_of(&view);
    let lost: Vec<SocketAddr> = ["10.2.1.5:8080", "10.2.2.5:8080"]
        .iter()
        .map(|a| a.parse().expect("address"))
        .collect();
    assert_eq!(
        plan(&unreachable, &before),
        [
            set_web(expected),
            Change::ForgetFlows(frontend(VIP, 80), lost)
        ]
    );

    view.apply(peer_state("b", true)).expect("peer state");
    assert_eq!(
        plan(&desired_of(&view), &unreachable),
        [set_web(all_web_targets())]
    );
}

#[test]
fn service_ports_map_to_backend_ports_by_name_and_protocol() {
    let mut services = web_everywhere();
    services[0].ports = vec![port("http", 80), port("metrics", 9090)];
    services[0].backends[0].ports = vec![backend_port("http", 8080), backend_port("metrics", 9100)];
    // b1 serves http on another number; b2 names its port http but over UDP.
    services[1].backends[0].ports = vec![backend_port("http", 8081)];
    services[1].backends[1].ports[0].protocol = pb::Protocol::Udp.into();
    let state = desired(world_with(services));

    let http = state
        .services
        .get(&frontend(VIP, 80))
        .expect("http frontend");
    assert_eq!(
        http.backends,
        [
            target("10.1.1.5", 8080, "a", "a1"),
            target("10.2.1.5", 8081, "b", "b1"),
            target("10.3.1.5", 8080, "c", "c1"),
        ]
    );
    let metrics = state
        .services
        .get(&frontend(VIP, 9090))
        .expect("metrics frontend");
    assert_eq!(metrics.backends, [target("10.1.1.5", 9100, "a", "a1")]);
    assert_eq!(state.services.len(), 2);
}

#[test]
fn unnamed_single_ports_match_unnamed_backend_ports() {
    let mut services = web_everywhere();
    services.truncate(1);
    services[0].ports = vec![port("", 80)];
    services[0].backends[0].ports = vec![backend_port("", 8443)];
    let state = desired(world_with(services));
    let web = state.services.get(&frontend(VIP, 80)).expect("frontend");
    assert_eq!(web.backends, [target("10.1.1.5", 8443, "a", "a1")]);
}
