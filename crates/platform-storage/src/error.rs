//! Storage errors.

use std::path::PathBuf;

/// Why a store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another handle in this one) has the data directory open.
    #[error("data directory {path} is locked by another process (is a validator already running on it?)")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// The directory holds a store written with another schema.
    #[error("data directory {path} has schema version {found}, this build reads version {expected}")]
    UnknownSchema {
        /// The data directory.
        path: PathBuf,
        /// The version on disk (`None`: no version recorded, so not a Platform store).
        found: SchemaFound,
        /// The version this build reads.
        expected: u32,
    },
    /// The directory is not empty and is not a store.
    #[error("{path} is not empty and is not a Platform data directory")]
    NotAStore {
        /// The directory.
        path: PathBuf,
    },
    /// An I/O or backend failure.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// What was found where a schema version was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaFound {
    /// A recorded version.
    Version(u32),
    /// No version recorded, or unknown column families.
    Unrecognised,
}

impl std::fmt::Display for SchemaFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaFound::Version(v) => write!(f, "{v}"),
            SchemaFound::Unrecognised => f.write_str("(unrecognised)"),
        }
    }
}
