//! Errors raised while loading the OCSF schema source tree.

use std::path::PathBuf;

/// Why the schema source tree could not be loaded. Every variant names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid JSON.
    #[error("{path}:{line}:{column}: invalid JSON: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
        /// What the parser reported.
        message: String,
    },
    /// A file is valid JSON but not a schema definition we can interpret.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the member at fault.
        message: String,
    },
}

impl SchemaError {
    /// A [`SchemaError::Format`] for `path`.
    pub(crate) fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> SchemaError {
        SchemaError::Format {
            path: path.into(),
            message: message.into(),
        }
    }
}
