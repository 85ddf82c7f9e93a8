//! `run_results.json` and `logs/health.json`, derived from the manifest, as typed documents
//! (the writer serializes them; readers deserialize the same types).

use crate::manifest::{CONTRACT_VERSION, Manifest, StageOutcome};
use crate::stage::{OutcomeStatus, RunStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `run_results.json`: the run's status, exit code, counts, key metrics and pointers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunResults {
    /// The bundle contract version.
    pub contract_version: String,
    /// The run.
    pub run_id: String,
    /// The derived run status.
    pub status: RunStatus,
    /// The exit code the status maps to (0, 10, 20).
    pub exit_code: i32,
    /// Actions and stage outcome counts.
    pub counts: RunCounts,
    /// Key metrics by name (fractions in [0, 1], durations in ms); `null` when not computed.
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Bundle-relative paths of the main documents (`manifest`, `health`, ...).
    pub pointers: BTreeMap<String, String>,
}

/// The counts of [`RunResults`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunCounts {
    /// Executed actions, when known.
    pub actions: Option<u64>,
    /// Top-level stage outcomes by status.
    pub stages: StageCounts,
}

/// Top-level stage outcomes by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageCounts {
    /// Succeeded.
    pub success: u64,
    /// Failed (either fail mode).
    pub failed: u64,
    /// Skipped.
    pub skipped: u64,
}

/// `logs/health.json`: the stage outcomes mirrored, without volatile fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// The bundle contract version.
    pub contract_version: String,
    /// The run.
    pub run_id: String,
    /// The derived run status.
    pub status: RunStatus,
    /// Every recorded outcome, without `duration_ms`.
    pub stages: Vec<StageOutcome>,
}

/// `run_results.json` for a manifest. `actions` is the number of executed actions when known.
pub fn run_results(
    m: &Manifest,
    actions: Option<u64>,
    metrics: BTreeMap<String, Option<f64>>,
) -> RunResults {
    let count = |s: OutcomeStatus| {
        m.stage_outcomes
            .iter()
            .filter(|o| o.status == s && !o.stage.contains('.'))
            .count() as u64
    };
    RunResults {
        contract_version: CONTRACT_VERSION.to_owned(),
        run_id: m.run_id.clone(),
        status: m.status,
        exit_code: m.status.exit_code(),
        counts: RunCounts {
            actions,
            stages: StageCounts {
                success: count(OutcomeStatus::Success),
                failed: count(OutcomeStatus::Failed),
                skipped: count(OutcomeStatus::Skipped),
            },
        },
        metrics,
        pointers: BTreeMap::from([
            ("health".to_owned(), "logs/health.json".to_owned()),
            ("manifest".to_owned(), "manifest.json".to_owned()),
        ]),
    }
}

/// `logs/health.json` for a manifest.
pub fn health(m: &Manifest) -> Health {
    Health {
        contract_version: CONTRACT_VERSION.to_owned(),
        run_id: m.run_id.clone(),
        status: m.status,
        stages: m
            .stage_outcomes
            .iter()
            .map(|o| StageOutcome {
                duration_ms: None,
                ..o.clone()
            })
            .collect(),
    }
}
