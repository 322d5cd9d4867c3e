//! The one conformance suite every [`Store`] backend must pass, unchanged.
//!
//! A backend's test file provides a [`StoreHarness`] and expands
//! [`store_conformance_tests!`](crate::store_conformance_tests), which turns every case
//! below into its own `#[tokio::test]`, so the test output names each case per backend.
//! A harness that cannot start its real backend panics: the case fails, never skips.

mod basics;
mod batches;
mod leases;
mod scale;
mod util;
mod watches;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::Store;

pub use basics::*;
pub use batches::*;
pub use leases::*;
pub use scale::*;
pub use watches::*;

/// Per-case settings a harness applies to the store it builds.
#[derive(Debug, Clone, Copy)]
pub struct HarnessOptions {
    /// Events a watcher may have queued before it is cut (see `StoreError::WatchLagged`).
    pub watch_buffer_events: usize,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        HarnessOptions {
            watch_buffer_events: super::DEFAULT_WATCH_BUFFER_EVENTS,
        }
    }
}

/// A store under test plus whatever keeps it alive (a temp dir, a child process).
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub guard: Box<dyn Send + Sync>,
}

#[async_trait]
pub trait StoreHarness: Send + Sync + 'static {
    /// A fresh, empty store. Errors name what could not be started.
    async fn start(&self, options: HarnessOptions) -> Result<TestStore, String>;
}

/// Starts a store from `harness` and runs one case against it.
pub async fn run_case<H, F, Fut>(harness: &H, options: HarnessOptions, case: F)
where
    H: StoreHarness,
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = match harness.start(options).await {
        Ok(started) => started,
        Err(reason) => panic!("store harness failed to start its backend: {reason}"),
    };
    case(started.store.clone()).await;
    drop(started);
}

/// Expands into one `#[tokio::test]` per conformance case, each against a fresh store
/// from the given harness expression.
#[macro_export]
macro_rules! store_conformance_tests {
    ($harness:expr) => {
        $crate::store_conformance_tests!(@cases $harness;
            put_get_delete_roundtrip,
            revisions_are_gap_free_under_concurrent_writers,
            watch_resumes_without_loss_or_duplicates,
            watch_sees_only_its_prefix,
            watch_from_a_future_revision_starts_there,
            compaction_reports_compacted_and_relist_recovers,
            lease_expiry_deletes_keys_and_emits_deletes,
            lease_keep_alive_and_revoke,
            put_with_unknown_lease_fails,
            cas_conflicts_and_swaps,
            delete_prefix_is_one_revision,
            write_batch_is_atomic,
            invalid_requests_are_rejected,
            large_values_roundtrip,
            list_of_100k_keys,
            slow_watcher_is_cut_and_resumes,
        );
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $harness;
                let options = $crate::store::conformance::options_for(stringify!($case));
                $crate::store::conformance::run_case(
                    &harness,
                    options,
                    $crate::store::conformance::$case,
                )
                .await;
            }
        )*
    };
}

/// The options a case needs from its harness.
pub fn options_for(case: &str) -> HarnessOptions {
    match case {
        "slow_watcher_is_cut_and_resumes" => HarnessOptions {
            watch_buffer_events: SLOW_WATCHER_BUFFER,
        },
        _ => HarnessOptions::default(),
    }
}
