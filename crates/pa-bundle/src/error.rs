//! Errors of the bundle layer. Each maps to a reason code of the closed catalog.

use crate::reason::{CommonReason, ReasonCode};
use std::path::{Path, PathBuf};

/// A bundle-layer failure. Every variant names the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a run directory: {reason}", path.display())]
    NotARun { path: PathBuf, reason: String },
    #[error("{}: invalid manifest: {reason}", path.display())]
    BadManifest { path: PathBuf, reason: String },
    #[error(
        "{}: is a symlink; a run bundle holds regular files and directories only",
        path.display()
    )]
    Symlink { path: PathBuf },
    #[error("path {path:?} is not a valid bundle-relative path: {reason}")]
    BadPath {
        path: String,
        reason: crate::relpath::RelPathError,
    },
    #[error("run lock {} is held by another live process{holder}", path.display())]
    LockHeld { path: PathBuf, holder: String },
    #[error("run lock {}: {reason}", path.display())]
    LockFailed { path: PathBuf, reason: String },
    #[error("contract {contract}: {reason}")]
    Contract { contract: String, reason: String },
    #[error(
        "{} is not a contract-backed path of stage {stage} (see contracts/registry.json)",
        path
    )]
    UndeclaredOutput { path: String, stage: String },
    #[error("{count} staged artifact(s) of stage {stage} fail their contracts; report: {}", report.display())]
    GateFailed {
        stage: String,
        count: usize,
        report: PathBuf,
    },
    #[error(transparent)]
    Canon(#[from] pa_canon::CanonError),
}

impl BundleError {
    /// An I/O error on a path.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        BundleError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The reason code a stage records for this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            BundleError::Io { .. } | BundleError::Canon(_) => CommonReason::StorageIoError.into(),
            BundleError::NotARun { .. } | BundleError::Symlink { .. } => {
                CommonReason::InputMissing.into()
            }
            BundleError::BadManifest { .. } | BundleError::BadPath { .. } => {
                CommonReason::ContractValidationFailed.into()
            }
            BundleError::LockHeld { .. } | BundleError::LockFailed { .. } => {
                CommonReason::LockAcquisitionFailed.into()
            }
            BundleError::Contract { .. }
            | BundleError::UndeclaredOutput { .. }
            | BundleError::GateFailed { .. } => CommonReason::ContractValidationFailed.into(),
        }
    }
}
