//! Errors: per-rule bridge outcomes (`BridgeError`, carrying a reason code) and document errors.
//! Loading the data files reports `pa_yaml::FileError`.

use std::fmt;

use crate::logsource::LogSource;

/// Reason codes the bridge itself can give a rule (reason domain `bridge_compiled_plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReasonCode {
    /// No route matches the rule's `logsource`, or the most specific routes tie.
    UnroutableLogsource,
    /// The Sigma field has no alias for the routed classes and no allowed fallback.
    UnmappedField,
    /// The routed classes alias the Sigma field to different OCSF paths.
    AmbiguousFieldAlias,
}

impl ReasonCode {
    /// The reason code as written in contracts (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::UnroutableLogsource => "unroutable_logsource",
            ReasonCode::UnmappedField => "unmapped_field",
            ReasonCode::AmbiguousFieldAlias => "ambiguous_field_alias",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a logsource could not be routed or a field could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason_code}: {explanation}")]
pub struct BridgeError {
    /// The machine-readable reason.
    pub reason_code: ReasonCode,
    /// A human explanation naming the logsource / field involved.
    pub explanation: String,
    /// The (normalized) logsource the question was asked for.
    pub logsource: Box<LogSource>,
    /// The Sigma field, for field errors.
    pub field: Option<String>,
    /// Competing candidates: tied route ids, or conflicting OCSF paths (sorted).
    pub candidates: Vec<String>,
}

/// A failure to build one of the bridge's JSON documents.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The value could not be serialized or canonicalized (RFC 8785).
    #[error("cannot canonicalize {what}: {message}")]
    Canonical {
        /// Which document.
        what: &'static str,
        /// The serializer's message.
        message: String,
    },
}
