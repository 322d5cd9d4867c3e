//! The clustermesh contract: the gRPC services and records every component speaks
//! (generated into [`pb`]), and the validated domain types they convert into. Untrusted
//! bytes from a peer, an agent or a manifest become domain values only through
//! `TryFrom<pb::…>`, which names the field and the bad value when it refuses, so the
//! rest of the system works with records that are known to be well formed. [`tls`]
//! holds the mTLS identities and PKI every component authenticates with.

#[allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    rustdoc::invalid_html_tags,
    rustdoc::bare_urls
)]
pub mod pb;

pub mod client_config;
pub mod domain;
mod error;
pub mod tls;

pub use domain::*;
pub use error::{ValidationError, ValidationErrorKind};
