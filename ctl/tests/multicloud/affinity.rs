//! `clustermesh.io/affinity` on the global service, as DESIGN.md specifies it, seen from
//! every cloud's client pod through the VIP (each cloud's own copy of the Service
//! decides for its clients):
//! - `local`: the local backends while one is healthy, the remote ones when none is;
//! - `remote`: only the other clouds' backends;
//! - `none` (the default): all healthy backends.

use std::time::Duration;

use crate::{
    demo::{CLOUDS, Demo, others},
    json::{backends, service},
    manifests::{set_affinity, set_echo_ready},
    vip::wait_streak,
};

const TAG: &str = "mcaf";
/// Answers in a row that must meet the rule: with three backends picked at random, 20
/// from one cloud by chance is a (1/3)^20 event.
const RUN: usize = 20;
/// For the agents to apply a manifest change; in practice well under a second.
const WITHIN: Duration = Duration::from_secs(20);

#[test]
fn affinity_local_remote_and_none_through_the_vip() {
    let demo = Demo::up(TAG);
    demo.connect();

    // The demo's default: no affinity, every cloud answers every client.
    for cloud in CLOUDS {
        wait_streak(&demo, cloud, "no affinity", RUN, &CLOUDS, WITHIN, |_| true);
    }

    // local: only the own cloud answers.
    for cloud in CLOUDS {
        set_affinity(&demo, cloud, Some("local"));
    }
    for cloud in CLOUDS {
        let took = wait_streak(&demo, cloud, "affinity local", RUN, &[cloud], WITHIN, |c| {
            c == cloud
        });
        eprintln!(
            "affinity local: {RUN} answers in a row from {cloud} only, {took:?} after the change"
        );
    }
    check_selection(
        &demo,
        "local",
        &["aws"],
        "affinity local prefers the healthy local backends",
    );

    // local, with the local backend not ready: the remote ones take over, and only
    // for this cloud's clients; back when it is ready again.
    set_echo_ready(&demo, "aws", false);
    let took = wait_streak(
        &demo,
        "aws",
        "affinity local, aws's backend not ready",
        RUN,
        &others("aws"),
        WITHIN,
        |c| c != "aws",
    );
    eprintln!(
        "affinity local: aws's client served by the other clouds {took:?} after aws's backend became not ready"
    );
    for cloud in others("aws") {
        wait_streak(&demo, cloud, "affinity local", RUN, &[cloud], WITHIN, |c| {
            c == cloud
        });
    }
    set_echo_ready(&demo, "aws", true);
    wait_streak(
        &demo,
        "aws",
        "affinity local, aws's backend ready again",
        RUN,
        &["aws"],
        WITHIN,
        |c| c == "aws",
    );

    // remote: only the other clouds answer.
    for cloud in CLOUDS {
        set_affinity(&demo, cloud, Some("remote"));
    }
    for cloud in CLOUDS {
        let took = wait_streak(
            &demo,
            cloud,
            "affinity remote",
            RUN,
            &others(cloud),
            WITHIN,
            |c| c != cloud,
        );
        eprintln!(
            "affinity remote: {RUN} answers in a row from the others only, in {cloud}, {took:?} \
             after the change"
        );
    }
    check_selection(
        &demo,
        "remote",
        &["gcp", "onprem"],
        "affinity remote prefers the healthy remote backends",
    );

    // none again (the annotation removed): all three clouds.
    for cloud in CLOUDS {
        set_affinity(&demo, cloud, None);
    }
    for cloud in CLOUDS {
        wait_streak(
            &demo,
            cloud,
            "affinity none again",
            RUN,
            &CLOUDS,
            WITHIN,
            |_| true,
        );
    }

    demo.down();
}

/// `ctl services --context aws` agrees: aws's copy has `affinity`, the backends of the
/// `selected` clouds only are selected, the others say `why`.
fn check_selection(demo: &Demo, affinity: &str, selected: &[&str], why: &str) {
    let (out, services) = demo.ctl_json(&["services", "--context", "aws"]);
    let out = out.ok();
    let echo = service(&services, "default", "echo");
    assert_eq!(echo["affinity"], affinity, "{out}");
    for cloud in CLOUDS {
        let backend = &backends(echo, cloud)[0];
        let is_selected = selected.contains(&cloud);
        assert_eq!(backend["selected"], is_selected, "{cloud}: {out}");
        if !is_selected {
            assert_eq!(backend["reason"], why, "{cloud}: {out}");
        }
    }
}
