//! Domain errors to gRPC codes, explicitly: a client retries `Unavailable` and stops at
//! once on `InvalidArgument` or `FailedPrecondition`.

use tonic::{Code, Status};

use crate::import::PeerError;
use crate::report::error_chain;
use crate::store::StoreError;

pub(crate) fn store(error: StoreError) -> Status {
    let text = error_chain(&error);
    match error {
        StoreError::Unavailable { leader_hint, .. } => {
            let mut status = Status::unavailable(text);
            if let Some(hint) = leader_hint.and_then(|h| h.parse().ok()) {
                status.metadata_mut().insert("x-leader-hint", hint);
            }
            status
        }
        StoreError::InvalidArgument(_) => Status::invalid_argument(text),
        StoreError::LeaseNotFound(_) => Status::not_found(text),
        StoreError::Closed => Status::unavailable(text),
        _ => Status::internal(text),
    }
}

pub(crate) fn peer(error: PeerError) -> Status {
    let text = error_chain(&error);
    match error {
        PeerError::Invalid(_) => Status::invalid_argument(text),
        PeerError::Conflict(_) => Status::failed_precondition(text),
        PeerError::NotFound(_) => Status::not_found(text),
        PeerError::NoPendingKey(_) => Status::failed_precondition(text),
        PeerError::Store(e) => store(e),
        PeerError::Files(_) => Status::new(Code::Internal, text),
    }
}

pub(crate) fn invalid(what: &str, error: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{what}: {error}"))
}
