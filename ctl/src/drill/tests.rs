//! The timeline arithmetic with hand-built reports (the core), then the plan's checks,
//! the report, the table and the SVG.

mod plan;
mod present;
mod timeline;

use std::collections::BTreeMap;

use super::timeline::{Marks, Probe, Sample, Series};

/// The fault, in unix ms; scenarios are written relative to it.
pub const FAULT: i64 = 1_700_000_000_000;

pub fn marks(start: i64, restore: Option<i64>, end: i64) -> Marks {
    Marks {
        start_ms: FAULT + start,
        fault_ms: FAULT,
        restore_ms: restore.map(|r| FAULT + r),
        end_ms: FAULT + end,
        judged_until_ms: None,
    }
}

/// A probing cluster sending a probe every 10 ms over `[from, to)` (relative to the
/// fault), each served by `serve(t)` or failed when `None`, with a counter sample at
/// every bucket boundary: so every bucket's connections are exactly its probes'.
pub fn series(from: i64, to: i64, serve: impl Fn(i64) -> Option<&'static str>) -> Series {
    sampled_at(0, from, to, serve)
}

/// [`series`] with the samples taken `offset` ms into each bucket.
pub fn sampled_at(
    offset: i64,
    from: i64,
    to: i64,
    serve: impl Fn(i64) -> Option<&'static str>,
) -> Series {
    let mut out = Series::default();
    let mut counters: BTreeMap<String, u64> = [("a".to_owned(), 0), ("b".to_owned(), 0)].into();
    let mut seq = 0;
    let mut t = from;
    while t <= to {
        if t.rem_euclid(100) == offset {
            out.samples.push(Sample {
                at_ms: FAULT + t,
                connections: counters.clone(),
            });
        }
        if t == to {
            break;
        }
        let served = serve(t);
        if let Some(cluster) = served {
            *counters.entry(cluster.to_owned()).or_default() += 1;
        }
        out.probes.push(Probe {
            seq,
            started_ms: FAULT + t,
            ok: served.is_some(),
            error: match served {
                Some(_) => String::new(),
                None => "connection refused".to_owned(),
            },
        });
        seq += 1;
        t += 10;
    }
    out
}
