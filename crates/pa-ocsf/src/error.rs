//! Load errors of the mapping profiles. Every variant names the file, and the line when the
//! problem is tied to one.

use std::fmt;
use std::path::PathBuf;

/// A failure to load or validate the mapping profiles.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A YAML file did not decode (syntax, unknown key, duplicate key, wrong type...).
    #[error("{path}:{line}:{column}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// The decoder's message.
        message: String,
    },
    /// A file decoded but its content is not valid (unknown transform, missing class file,
    /// overlapping routes, conflicting targets...).
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending entry (0 when not tied to a line).
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl ProfileError {
    pub(crate) fn invalid(path: impl Into<PathBuf>, line: u64, message: impl fmt::Display) -> Self {
        ProfileError::Invalid {
            path: path.into(),
            line,
            message: message.to_string(),
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ProfileError::Io { path, .. }
            | ProfileError::Decode { path, .. }
            | ProfileError::Invalid { path, .. } => path,
        }
    }

    /// The 1-based line the error is about (0 when unknown).
    pub fn line(&self) -> u64 {
        match self {
            ProfileError::Io { .. } => 0,
            ProfileError::Decode { line, .. } | ProfileError::Invalid { line, .. } => *line,
        }
    }
}

/// `event_id` could not be computed from a basis.
#[derive(Debug, thiserror::Error)]
#[error("cannot compute event_id: {0}")]
pub struct EventIdError(#[from] pub pa_canon::CanonError);
