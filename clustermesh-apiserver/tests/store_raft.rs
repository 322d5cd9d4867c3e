//! The store conformance suite against the embedded raft backend: one replica, and three
//! replicas with the store under test a follower (forwarded writes, read-index reads).

mod single_replica {
    clustermesh_apiserver::store_conformance_tests!(
        clustermesh_apiserver::store::testing::RaftHarness::single()
    );
}

mod three_replicas {
    clustermesh_apiserver::store_conformance_tests!(
        clustermesh_apiserver::store::testing::RaftHarness::three_replicas()
    );
}
