//! The leader's lease clock: it notices expired leases and proposes their expiry as an
//! ordinary log entry, so every replica deletes the same keys at the same revision.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::replica::Replica;
use super::state_machine::lock;
use crate::store::Command;

const TICK: Duration = Duration::from_millis(50);

pub(crate) async fn run(replica: Arc<Replica>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut leading = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !replica.is_leader() {
            if leading && let Ok(mut clock) = replica.clock() {
                clock.clear();
            }
            leading = false;
            continue;
        }
        let Ok(leases) = lock(&replica.applied).map(|a| a.state.leases().collect::<Vec<_>>())
        else {
            return;
        };
        let now = Instant::now();
        let expired = {
            let Ok(mut clock) = replica.clock() else {
                return;
            };
            match leading {
                // A new leader cannot know when keep-alives last arrived: full TTL for all.
                false => clock.reset(leases.into_iter(), now),
                true => clock.sync(leases.into_iter(), now),
            }
            clock.expired(now)
        };
        leading = true;
        if expired.is_empty() {
            continue;
        }
        tracing::debug!(leases = ?expired, "expiring leases");
        match replica
            .raft
            .client_write(Command::ExpireLeases {
                ids: expired.clone(),
            })
            .await
        {
            Ok(_) => {
                if let Ok(mut clock) = replica.clock() {
                    expired.iter().for_each(|id| clock.forget(*id));
                }
            }
            Err(error) => tracing::warn!(%error, "proposing lease expiry failed; retrying"),
        }
    }
}
