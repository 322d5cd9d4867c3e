//! The global service as a client pod sees it: `curl` of the VIP through `demo.sh exec`,
//! and waits for a run of answers that meets a rule.

use std::{
    collections::{BTreeSet, VecDeque},
    time::{Duration, Instant},
};

use crate::demo::{Demo, VIP, echo_answer};

/// One GET of `http://VIP/` from `cloud`'s client pod: the cloud whose echo pod
/// answered, or why there was no (well-formed) answer.
pub fn get(demo: &Demo, cloud: &str) -> Result<String, String> {
    let url = format!("http://{VIP}/");
    let out = demo.exec(cloud, "client", &["curl", "-s", "--max-time", "2", &url]);
    if out.code != Some(0) {
        return Err(format!("curl exit {:?} {}", out.code, out.stderr.trim()));
    }
    let body = out.stdout.trim();
    match body.rsplit_once(" in ") {
        Some((_, from)) if body == echo_answer(from) => Ok(from.to_owned()),
        _ => Err(format!("unexpected answer {body:?}")),
    }
}

/// Asks the VIP from `cloud`'s client until `n` answers in a row meet `rule` and, among
/// them, every cloud in `must_see` answered; a failed request breaks the run. Returns
/// how long that took. Panics after `within`, with the last answers.
pub fn wait_streak(
    demo: &Demo,
    cloud: &str,
    what: &str,
    n: usize,
    must_see: &[&str],
    within: Duration,
    rule: impl Fn(&str) -> bool,
) -> Duration {
    let started = Instant::now();
    let mut run: Vec<String> = Vec::new();
    let mut recent: VecDeque<Result<String, String>> = VecDeque::new();
    loop {
        let answer = get(demo, cloud);
        match &answer {
            Ok(from) if rule(from) => run.push(from.clone()),
            _ => run.clear(),
        }
        recent.push_back(answer);
        if recent.len() > 2 * n {
            recent.pop_front();
        }
        let seen: BTreeSet<&str> = run.iter().map(String::as_str).collect();
        if run.len() >= n && must_see.iter().all(|c| seen.contains(c)) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "from {cloud}'s client pod: {what}: no {n} answers in a row (seeing {must_see:?}) \
             within {within:?}; the last ones: {recent:?}"
        );
    }
}

/// Asks until every cloud in `clouds` has answered `cloud`'s client at least once, with
/// no failed request after the first answer (until then the mesh may still be being
/// programmed). Returns the clouds seen and how many requests it took.
pub fn wait_answers_from(
    demo: &Demo,
    cloud: &str,
    clouds: usize,
    within: Duration,
) -> (BTreeSet<String>, usize) {
    let started = Instant::now();
    let mut seen = BTreeSet::new();
    let mut requests = 0;
    let mut failures_before_first = Vec::new();
    loop {
        requests += 1;
        match get(demo, cloud) {
            Ok(from) => {
                seen.insert(from);
            }
            Err(why) if seen.is_empty() => failures_before_first.push(why),
            Err(why) => panic!(
                "from {cloud}'s client pod: request {requests} to the VIP failed after it \
                 had answered ({seen:?}): {why}"
            ),
        }
        if seen.len() >= clouds {
            return (seen, requests);
        }
        assert!(
            started.elapsed() < within,
            "from {cloud}'s client pod: answers from only {seen:?} within {within:?} \
             ({requests} requests; failed before the first answer: {failures_before_first:?})"
        );
    }
}
