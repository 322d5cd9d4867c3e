//! The store conformance suite against the in-memory backend.

use async_trait::async_trait;
use clustermesh_apiserver::store::conformance::{HarnessOptions, StoreHarness, TestStore};
use clustermesh_apiserver::store::memory::{MemoryStore, MemoryStoreConfig};

struct MemoryHarness;

#[async_trait]
impl StoreHarness for MemoryHarness {
    async fn start(&self, options: HarnessOptions) -> Result<TestStore, String> {
        let config = MemoryStoreConfig {
            watch_buffer_events: options.watch_buffer_events,
            ..MemoryStoreConfig::default()
        };
        Ok(TestStore {
            store: std::sync::Arc::new(MemoryStore::new(config)),
            guard: Box::new(()),
        })
    }
}

clustermesh_apiserver::store_conformance_tests!(MemoryHarness);
