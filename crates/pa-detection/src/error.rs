//! [`DetectError`]: what goes wrong in the detection stage outside one rule's compilation,
//! and the one place where errors map to reason codes.

use pa_bundle::reason::{CommonReason, DetectionReason};
use pa_stage::StageFailure;
use std::path::PathBuf;

/// What went wrong in detection outside a single rule's compilation (a rule that cannot run
/// is not an error: it is reported with its reason code). Each message is complete on its own
/// (it includes the underlying error's text), so no variant exposes a `source()` that a
/// chain-printing caller would print a second time.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// No rule path was configured or given.
    #[error("no Sigma rule paths given (detection.sigma.rule_paths or --rules)")]
    NoRulePaths,
    /// A configured rule path does not exist.
    #[error("{}: Sigma rule path does not exist", .0.display())]
    RulePathMissing(PathBuf),
    /// The shipped bridge data was not found.
    #[error(transparent)]
    ShippedBridgeMissing(#[from] pa_stage::ShippedDataNotFound),
    /// The bridge data files do not load.
    #[error(transparent)]
    Bridge(#[from] pa_bridge::FileError),
    /// OCSF field mode was asked for without a bridge.
    #[error("OCSF field mode needs the bridge")]
    BridgeRequired,
    /// The matching engine could not be built (a compiled automaton over its size limit).
    #[error(transparent)]
    Engine(#[from] pa_sigma::EngineError),
    /// The events input could not be read (stream mode).
    #[error("{input}: {error}")]
    Input {
        /// The input as given (`-` for stdin).
        input: String,
        /// What the read said.
        error: std::io::Error,
    },
    /// A line of the events input is not a JSON event (stream mode).
    #[error("{input}:{line}: not a JSON event: {error}")]
    NotAnEvent {
        /// The input as given.
        input: String,
        /// 1-based line.
        line: u64,
        /// The JSON error.
        error: serde_json::Error,
    },
    /// A line of the events input cannot be an event: not UTF-8, or longer than
    /// [`crate::MAX_EVENT_LINE_BYTES`] (stream mode).
    #[error("{input}:{line}: {problem}")]
    BadLine {
        /// The input as given.
        input: String,
        /// 1-based line.
        line: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The output could not be written.
    #[error("output: {0}")]
    Output(std::io::Error),
    /// A sorted run of detection instances could not be spilled or read back.
    #[error("{}: detection instances spilled for sorting: {error}", path.display())]
    Spill {
        /// The run file or its directory.
        path: PathBuf,
        /// What the file system said.
        error: std::io::Error,
    },
    /// A document could not be serialized as canonical JSON.
    #[error("{0}")]
    Canonical(pa_canon::CanonError),
    /// `explain` was asked about a rule that is not loaded.
    #[error("rule {0} is not in the loaded rule set")]
    UnknownRule(String),
    /// `explain` was asked about a correlation rule (it relates several events).
    #[error(
        "rule {rule_id} is a correlation rule ({references}): explain works on one event; explain the rules it references"
    )]
    CorrelationNotExplainable {
        /// The correlation rule.
        rule_id: String,
        /// The rules it references, as written.
        references: String,
    },
    /// `explain` was asked about a rule that cannot run.
    #[error("rule {rule_id} is not executable: {reason_code}: {message}")]
    NotExecutable {
        /// The rule.
        rule_id: String,
        /// Its reason code.
        reason_code: String,
        /// Why.
        message: String,
    },
}

impl DetectError {
    /// The stage reason code of this error (the one place errors map to reason codes).
    pub fn reason(&self) -> pa_bundle::ReasonCode {
        match self {
            DetectError::NoRulePaths
            | DetectError::RulePathMissing(_)
            | DetectError::UnknownRule(_)
            | DetectError::CorrelationNotExplainable { .. }
            | DetectError::NotExecutable { .. } => DetectionReason::SigmaRulesetLoadFailed.into(),
            DetectError::ShippedBridgeMissing(_)
            | DetectError::Bridge(_)
            | DetectError::BridgeRequired => DetectionReason::BridgeMappingPackInvalid.into(),
            DetectError::Engine(_) | DetectError::Canonical(_) => {
                DetectionReason::BackendDriverFailed.into()
            }
            DetectError::Input { .. }
            | DetectError::NotAnEvent { .. }
            | DetectError::BadLine { .. } => CommonReason::InputMissing.into(),
            DetectError::Output(_) | DetectError::Spill { .. } => {
                CommonReason::StorageIoError.into()
            }
        }
    }
}

impl From<pa_canon::CanonError> for DetectError {
    fn from(e: pa_canon::CanonError) -> DetectError {
        DetectError::Canonical(e)
    }
}

impl From<DetectError> for StageFailure {
    fn from(e: DetectError) -> StageFailure {
        StageFailure::new(e.reason(), e.to_string())
    }
}
