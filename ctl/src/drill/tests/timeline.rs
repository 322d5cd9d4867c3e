use std::collections::BTreeMap;

use super::{FAULT, marks, sampled_at, series};
use crate::drill::timeline::*;

const STABLE: i64 = 2000;

fn probe(seq: u64, t: i64, ok: bool) -> Probe {
    Probe {
        seq,
        started_ms: FAULT + t,
        ok,
        error: String::new(),
    }
}

fn sample(t: i64, counters: &[(&str, u64)]) -> Sample {
    Sample {
        at_ms: FAULT + t,
        connections: counters
            .iter()
            .map(|(c, n)| ((*c).to_owned(), *n))
            .collect(),
    }
}

fn map(entries: &[(&str, f64)]) -> BTreeMap<String, f64> {
    entries.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
}

fn figures_of(series: &Series, marks: &Marks) -> Figures {
    let buckets = buckets(series, marks);
    figures(&buckets, &series.probes, marks, "a", STABLE)
}

/// Baseline on a; probes fail for 300 ms after the fault, then go to b; the restore at
/// 3 s brings traffic back to a from 3.1 s.
fn failover(t: i64) -> Option<&'static str> {
    match t {
        t if t < 0 => Some("a"),
        t if t < 300 => None,
        t if t < 3100 => Some("b"),
        _ => Some("a"),
    }
}

#[test]
fn buckets_are_aligned_to_the_fault_and_count_probes_by_their_start() {
    let s = Series {
        probes: vec![
            probe(0, -250, true),
            probe(1, -1, false),
            probe(2, 0, true),
            probe(3, 99, true),
            probe(4, 250, false),
            // At or after the end: outside the drill.
            probe(5, 300, true),
        ],
        samples: vec![],
    };
    let b = buckets(&s, &marks(-250, None, 300));
    let t: Vec<i64> = b.iter().map(|b| b.t_ms).collect();
    assert_eq!(t, [-300, -200, -100, 0, 100, 200]);
    let counts: Vec<(u64, u64)> = b.iter().map(|b| (b.ok, b.failed)).collect();
    assert_eq!(counts, [(1, 0), (0, 0), (0, 1), (2, 0), (0, 0), (0, 1)]);
}

#[test]
fn counter_deltas_are_spread_over_their_sample_interval() {
    let s = Series {
        probes: vec![],
        samples: vec![
            sample(-150, &[("a", 10)]),
            sample(50, &[("a", 14), ("b", 2)]),
        ],
    };
    let b = buckets(&s, &marks(-200, None, 100));
    // (-150, 50]: a quarter in bucket -200, half in -100, a quarter in 0. b appeared:
    // its chain is new, so it counts from zero.
    let a: Vec<f64> = b.iter().map(|b| b.connections["a"]).collect();
    assert_eq!(a, [1.0, 2.0, 1.0]);
    assert_eq!(b[1].connections["b"], 1.0);
}

#[test]
fn a_counter_that_went_down_was_reset_and_counts_from_zero() {
    let samples = vec![
        sample(0, &[("a", 500), ("b", 7)]),
        sample(100, &[("a", 3), ("b", 9)]),
        // a's chain gone, then back.
        sample(200, &[("b", 10)]),
        sample(300, &[("a", 4), ("b", 10)]),
        // Out of order on the wire: sorted by time.
        sample(400, &[("a", 6), ("b", 12)]),
    ];
    let mut shuffled = samples.clone();
    shuffled.swap(1, 4);
    let deltas: Vec<(i64, BTreeMap<String, u64>)> = counter_deltas(&shuffled)
        .into_iter()
        .map(|(_, to, d)| (to - FAULT, d))
        .collect();
    let expect = |n: &[(&str, u64)]| -> BTreeMap<String, u64> {
        n.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
    };
    assert_eq!(
        deltas,
        [
            (100, expect(&[("a", 3), ("b", 2)])),
            (200, expect(&[("b", 1)])),
            (300, expect(&[("a", 4)])),
            (400, expect(&[("a", 2), ("b", 2)])),
        ]
    );
}

#[test]
fn shares_split_each_probers_ok_probes_by_its_own_counters() {
    let m = marks(0, None, 100);
    // b: 10 ok, its node sent half to a, half to b. c: 2 ok, and its node sent 30
    // connections (other clients' too) all to c: c's probes weigh 2, not 30.
    let b = Series {
        probes: (0..10).map(|i| probe(i, i as i64 * 10, true)).collect(),
        samples: vec![
            sample(0, &[("a", 0), ("b", 0)]),
            sample(100, &[("a", 5), ("b", 5)]),
        ],
    };
    let c = Series {
        probes: vec![probe(0, 10, true), probe(1, 60, true)],
        samples: vec![sample(0, &[("c", 0)]), sample(100, &[("c", 30)])],
    };
    let merged = merge(&[buckets(&b, &m), buckets(&c, &m)]);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].ok, 12);
    assert_eq!(merged[0].served, map(&[("a", 5.0), ("b", 5.0), ("c", 2.0)]));
    assert_eq!(
        merged[0].share(),
        map(&[("a", 5.0 / 12.0), ("b", 5.0 / 12.0), ("c", 2.0 / 12.0)])
    );
    assert_eq!(merged[0].connections["c"], 30.0);
}

#[test]
fn ok_probes_without_counter_movement_are_not_attributed() {
    let s = Series {
        probes: vec![probe(0, 10, true)],
        samples: vec![sample(0, &[("a", 4)]), sample(100, &[("a", 4)])],
    };
    let b = buckets(&s, &marks(0, None, 100));
    assert!(b[0].share().is_empty() && b[0].served.is_empty());
}

#[test]
fn a_clean_failover_and_failback() {
    let s = series(-1000, 4000, failover);
    let f = figures_of(&s, &marks(-1000, Some(3000), 4000));
    assert_eq!(
        f,
        Figures {
            first_served_elsewhere_ms: Some(300),
            last_failure_ms: Some(290),
            rto_ms: Some(300),
            clean_for_ms: 2700,
            recovered: true,
            returned_ms: Some(100),
            failback_ms: Some(100),
            failed_before_fault: 0,
            failed_during_fault: 30,
            failed_after_restore: 0,
        }
    );
}

#[test]
fn no_failures_at_all() {
    // The load balancer moved before any probe failed.
    let s = series(-500, 3000, |t| {
        Some(if (200..2600).contains(&t) { "b" } else { "a" })
    });
    let f = figures_of(&s, &marks(-500, Some(2500), 3000));
    assert_eq!(f.last_failure_ms, None);
    assert_eq!(f.failed_during_fault, 0);
    assert_eq!(
        (f.first_served_elsewhere_ms, f.rto_ms),
        (Some(200), Some(200))
    );
    assert!(f.recovered);
    assert_eq!(f.failback_ms, Some(100));
}

#[test]
fn never_recovered_has_no_rto_and_no_failback() {
    // Half the probes keep failing until the restore.
    let s = series(-500, 3000, |t| match t {
        t if !(0..2000).contains(&t) => Some("a"),
        t if t % 20 == 0 => None,
        _ => Some("b"),
    });
    let f = figures_of(&s, &marks(-500, Some(2000), 3000));
    // The probes that did succeed went to b at once: served elsewhere, not recovered.
    assert_eq!(f.first_served_elsewhere_ms, Some(0));
    assert_eq!((f.rto_ms, f.recovered), (None, false));
    assert_eq!(f.last_failure_ms, Some(1980));
    assert_eq!(
        f.returned_ms,
        Some(0),
        "traffic is on a right after the restore"
    );
    assert_eq!(f.failback_ms, None, "nothing to fail back from");
}

#[test]
fn traffic_still_reaching_the_target_is_not_recovered() {
    // No failure, but a's backends keep a share: the fault did not take.
    let s = series(-500, 3000, |t| {
        Some(if t >= 0 && t % 20 == 0 { "b" } else { "a" })
    });
    let f = figures_of(&s, &marks(-500, Some(2500), 3000));
    assert_eq!(f.failed_during_fault, 0);
    assert_eq!(
        (f.first_served_elsewhere_ms, f.rto_ms, f.recovered),
        (None, None, false)
    );
}

#[test]
fn recovery_counts_from_the_last_bad_bucket() {
    // Served by b from 100 ms, back on a at 500 ms (a flap), then b for good from 600.
    let s = series(-500, 3500, |t| match t {
        t if !(0..3100).contains(&t) => Some("a"),
        t if (500..600).contains(&t) => Some("a"),
        _ => Some("b"),
    });
    let f = figures_of(&s, &marks(-500, Some(3000), 3500));
    assert_eq!(f.first_served_elsewhere_ms, Some(0));
    assert_eq!(f.rto_ms, Some(600));
    assert_eq!(f.clean_for_ms, 2400);
    assert!(f.recovered);
}

#[test]
fn recovery_must_hold_for_the_stable_time() {
    let s = series(-500, 2500, |t| match t {
        t if !(0..2000).contains(&t) => Some("a"),
        t if t < 500 => None,
        _ => Some("b"),
    });
    let f = figures_of(&s, &marks(-500, Some(2000), 2500));
    assert_eq!((f.rto_ms, f.clean_for_ms), (Some(500), 1500));
    assert!(!f.recovered);
    assert_eq!(f.failback_ms, None);
    assert_eq!(f.returned_ms, Some(0));
}

#[test]
fn while_running_the_window_ends_at_the_data_horizon() {
    // No restore yet; the data is final up to 2.3 s.
    let s = series(-500, 2300, failover);
    let f = figures_of(&s, &marks(-500, None, 2300));
    assert_eq!(
        (f.rto_ms, f.clean_for_ms, f.recovered),
        (Some(300), 2000, true)
    );
    let f = figures_of(&s, &marks(-500, None, 2200));
    assert!(!f.recovered, "1.9 s is not yet stable");
    assert_eq!((f.returned_ms, f.failback_ms), (None, None));
}

#[test]
fn failback_through_a_recreated_backend_chain() {
    // a's chain is recreated when its backends return: its counter restarts from zero
    // (50 before, 10 at 3.2 s), which is a reset, not a decrease.
    let mut s = series(-500, 3500, failover);
    for sample in s.samples.iter_mut().filter(|x| x.at_ms >= FAULT + 3200) {
        *sample.connections.get_mut("a").expect("a") -= 50;
    }
    assert_eq!(
        s.samples
            .iter()
            .find(|x| x.at_ms == FAULT + 3200)
            .map(|x| x.connections["a"]),
        Some(10)
    );
    let f = figures_of(&s, &marks(-500, Some(3000), 3100));
    assert_eq!(f.returned_ms, None, "a is only back from 3.1 s");
    let f = figures_of(&s, &marks(-500, Some(3000), 3500));
    assert_eq!(f.failback_ms, Some(100));
    let b = buckets(&s, &marks(-500, Some(3000), 3500));
    assert_eq!(b.last().map(|b| b.connections["a"]), Some(10.0));
}

#[test]
fn the_fault_is_judged_on_samples_taken_before_the_restore() {
    // Samples at 50 ms into each bucket; the restore at 2.52 s, a serves again from
    // 2.53 s. The delta of (2.45 s, 2.55 s] holds those connections, and spreading it
    // puts half into the bucket before the restore.
    let s = sampled_at(50, -500, 3000, |t| {
        Some(if (0..2530).contains(&t) { "b" } else { "a" })
    });
    let mut m = marks(-500, Some(2520), 3000);
    let b = buckets(&s, &m);
    assert!(b.iter().any(|b| b.t_ms == 2400 && b.reaches("a")));
    assert!(!figures(&b, &s.probes, &m, "a", STABLE).recovered);
    m.judged_until_ms = judged_until(&s, m.restore_ms.expect("restore"));
    assert_eq!(m.judged_until_ms, Some(FAULT + 2450));
    let f = figures(&b, &s.probes, &m, "a", STABLE);
    assert_eq!(
        (f.rto_ms, f.clean_for_ms, f.recovered),
        (Some(100), 2300, true)
    );
    assert_eq!(f.failback_ms, Some(0));
}

#[test]
fn every_probe_is_accounted_for() {
    let mut probes: Vec<Probe> = (0..10)
        .map(|i| probe(i, i as i64 * 10, i % 3 != 0))
        .collect();
    probes.retain(|p| p.seq != 5);
    probes.push(probe(2, 20, true));
    probes.push(probe(10, 100, true));
    let a = account(&probes, FAULT + 100);
    assert_eq!(
        a,
        Accounting {
            sent: 10,
            ok: 5,
            failed: 4,
            unreported: 1,
            duplicates: 1,
        }
    );
    assert!(!a.complete());
    assert_eq!(a.sent, a.ok + a.failed + a.unreported);
    let clean = account(&series(0, 500, failover).probes, FAULT + 500);
    assert_eq!((clean.sent, clean.ok, clean.failed), (50, 20, 30));
    assert!(clean.complete());
    assert_eq!(account(&[], FAULT), Accounting::default());
}

#[test]
fn settled_follows_the_lowest_missing_seq() {
    let mut s = Settled::default();
    assert_eq!(s.through(), None);
    s.record(0, 100);
    s.record(1, 120);
    s.record(3, 160);
    assert_eq!(s.through(), Some(120), "seq 2 is still in flight");
    assert!(!s.complete_before(110));
    s.record(2, 140);
    assert_eq!(s.through(), Some(160));
    assert!(s.complete_before(160));
    assert!(
        !s.complete_before(161),
        "a probe started before 161 may be unreported"
    );
    s.record(1, 120);
    assert_eq!(s.through(), Some(160), "a duplicate changes nothing");
}
