//! Why `run`'s configuration was refused.

use std::path::PathBuf;

use crate::data_dir::DataDirError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// One flag's value is wrong on its own; `message` quotes the value.
    #[error("{flag}: {message}")]
    Flag { flag: &'static str, message: String },

    /// Flags that are fine alone contradict each other.
    #[error("{0}")]
    Conflict(String),

    #[error("--data-dir {}: cannot use the data directory", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: DataDirError,
    },
}

impl ConfigError {
    pub(crate) fn flag(flag: &'static str, message: impl Into<String>) -> Self {
        ConfigError::Flag {
            flag,
            message: message.into(),
        }
    }
}
