//! The layout of an apiserver's data directory: keys, certificates, cluster identity.
