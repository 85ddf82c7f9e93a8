//! Pipeline stages, their canonical order, fail modes and outcome status.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A pipeline stage, in canonical execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    LabProvider,
    Runner,
    Telemetry,
    Normalization,
    Validation,
    Detection,
    Scoring,
    Reporting,
    Signing,
}

impl Stage {
    /// Every stage in canonical order.
    pub const ALL: [Stage; 9] = [
        Stage::LabProvider,
        Stage::Runner,
        Stage::Telemetry,
        Stage::Normalization,
        Stage::Validation,
        Stage::Detection,
        Stage::Scoring,
        Stage::Reporting,
        Stage::Signing,
    ];

    /// The stage id used in manifests, staging directories and `--from`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::LabProvider => "lab_provider",
            Stage::Runner => "runner",
            Stage::Telemetry => "telemetry",
            Stage::Normalization => "normalization",
            Stage::Validation => "validation",
            Stage::Detection => "detection",
            Stage::Scoring => "scoring",
            Stage::Reporting => "reporting",
            Stage::Signing => "signing",
        }
    }

    /// The executable implementing the stage.
    pub fn binary_name(self) -> &'static str {
        match self {
            Stage::LabProvider => "pa-lab",
            Stage::Runner => "pa-runner",
            Stage::Telemetry => "pa-telemetry",
            Stage::Normalization => "pa-normalize",
            Stage::Validation => "pa-validate",
            Stage::Detection => "pa-detect",
            Stage::Scoring => "pa-score",
            Stage::Reporting => "pa-report",
            Stage::Signing => "pa-sign",
        }
    }

    /// The fail mode a failure of this stage has unless configured otherwise (SPEC §2).
    pub fn default_fail_mode(self) -> FailMode {
        match self {
            Stage::Validation => FailMode::WarnAndSkip,
            _ => FailMode::FailClosed,
        }
    }

    /// Parse a stage id (`detection`) or a binary name (`pa-detect`).
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s || st.binary_name() == s)
    }

    /// Position in the canonical order.
    pub fn ordinal(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a failure of a stage affects the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailMode {
    /// The run fails and the pipeline stops.
    FailClosed,
    /// The run is degraded (`partial`) and the pipeline continues.
    WarnAndSkip,
}

impl FailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::FailClosed => "fail_closed",
            FailMode::WarnAndSkip => "warn_and_skip",
        }
    }
}

/// The status of one stage outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Success,
    Failed,
    Skipped,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Success => "success",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::Skipped => "skipped",
        }
    }
}

/// The status of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Success,
    Partial,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Success => "success",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }

    /// The process exit code for this status: 0, 10 or 20 (DESIGN §4).
    pub fn exit_code(self) -> i32 {
        match self {
            RunStatus::Success => 0,
            RunStatus::Partial => 10,
            RunStatus::Failed => 20,
        }
    }
}
