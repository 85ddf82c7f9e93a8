//! `manifest.json`: the run's identity, inputs, versions and stage outcomes.

use crate::reason::ReasonCode;
use crate::stage::{FailMode, OutcomeStatus, RunStatus, Stage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The contract version every artifact we write carries.
pub const CONTRACT_VERSION: &str = "0.1.0";
/// The OCSF version the pipeline emits.
pub const OCSF_VERSION: &str = "1.7.0";

/// One stage's recorded outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageOutcome {
    /// Stage id, or a dotted substage (`telemetry.windows_eventlog.raw_mode`).
    pub stage: String,
    pub status: OutcomeStatus,
    pub fail_mode: FailMode,
    /// Required unless `status` is `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Wall-clock duration (volatile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// A human-readable explanation of a failure (the first error line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl StageOutcome {
    /// A successful outcome.
    pub fn success(stage: Stage) -> Self {
        StageOutcome {
            stage: stage.as_str().to_string(),
            status: OutcomeStatus::Success,
            fail_mode: stage.default_fail_mode(),
            reason_code: None,
            duration_ms: None,
            message: None,
        }
    }

    /// A failed outcome with its reason.
    pub fn failed(stage: Stage, fail_mode: FailMode, code: ReasonCode) -> Self {
        debug_assert!(code.allowed_for(stage), "{code} is not a {stage} code");
        StageOutcome {
            stage: stage.as_str().to_string(),
            status: OutcomeStatus::Failed,
            fail_mode,
            reason_code: Some(code.as_str().to_string()),
            duration_ms: None,
            message: None,
        }
    }

    /// A stage that did not run because an upstream stage failed closed.
    pub fn blocked(stage: Stage) -> Self {
        StageOutcome {
            stage: stage.as_str().to_string(),
            status: OutcomeStatus::Skipped,
            fail_mode: stage.default_fail_mode(),
            reason_code: Some("blocked_by_upstream_failure".to_string()),
            duration_ms: None,
            message: None,
        }
    }

    /// Attach a message.
    pub fn with_message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }

    /// The top-level stage this outcome belongs to.
    pub fn top_stage(&self) -> Option<Stage> {
        Stage::parse(self.stage.split('.').next().unwrap_or(""))
    }
}

/// Derive the run status from outcomes (SPEC §2): `failed` if any failed+fail_closed
/// outcome (substages too), else `partial` if any failed+warn_and_skip, else `success`.
pub fn derive_status<'a>(outcomes: impl IntoIterator<Item = &'a StageOutcome>) -> RunStatus {
    let mut status = RunStatus::Success;
    for o in outcomes {
        if o.status == OutcomeStatus::Failed {
            match o.fail_mode {
                FailMode::FailClosed => return RunStatus::Failed,
                FailMode::WarnAndSkip => status = RunStatus::Partial,
            }
        }
    }
    status
}

/// Sort outcomes in canonical stage order, dotted substages after their parent (bytewise).
pub fn sort_outcomes(outcomes: &mut [StageOutcome]) {
    outcomes.sort_by(|a, b| {
        let ka = (
            a.top_stage().map(Stage::ordinal).unwrap_or(usize::MAX),
            a.stage.as_bytes(),
        );
        let kb = (
            b.top_stage().map(Stage::ordinal).unwrap_or(usize::MAX),
            b.stage.as_bytes(),
        );
        ka.cmp(&kb)
    });
}

/// Scenario identity recorded in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestScenario {
    pub scenario_id: String,
    pub scenario_version: String,
    pub runner_type: String,
    pub techniques: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture: Option<Value>,
}

/// Version pins of everything that shaped the run. (No `deny_unknown_fields`: serde cannot
/// combine it with the flattened `extra` map, which takes every other pin.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub project_version: String,
    pub pipeline_version: String,
    pub scenario_id: String,
    pub scenario_version: String,
    pub ocsf_version: String,
    pub contracts_version: String,
    /// Other pins (`rule_set_sha256`, `mapping_pack_id`, ...), set by the stages.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One target host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub asset_id: String,
    pub os: String,
    pub role: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub contract_version: String,
    pub run_id: String,
    pub status: RunStatus,
    pub started_at_utc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_utc: Option<String>,
    pub scenario: ManifestScenario,
    pub versions: Versions,
    /// Input digests: `range_yaml_sha256`, `scenario_yaml_sha256`, ... (`sha256:<hex>`).
    pub inputs: BTreeMap<String, String>,
    pub targets: Vec<Target>,
    /// Stages the range enables, in canonical order.
    #[serde(default)]
    pub enabled_stages: Vec<Stage>,
    #[serde(default)]
    pub stage_outcomes: Vec<StageOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, Value>,
}

impl Manifest {
    /// Replace (or add) the outcomes of `stage` and its substages with `new`, keep order canonical
    /// and re-derive the status.
    pub fn record_outcomes(&mut self, stage: Stage, new: Vec<StageOutcome>) {
        let prefix = format!("{}.", stage.as_str());
        self.stage_outcomes
            .retain(|o| o.stage != stage.as_str() && !o.stage.starts_with(&prefix));
        self.stage_outcomes.extend(new);
        sort_outcomes(&mut self.stage_outcomes);
        self.status = derive_status(&self.stage_outcomes);
    }

    /// The recorded top-level outcome of a stage.
    pub fn outcome(&self, stage: Stage) -> Option<&StageOutcome> {
        self.stage_outcomes
            .iter()
            .find(|o| o.stage == stage.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_version_pins_round_trip() {
        let v: Versions = serde_json::from_value(serde_json::json!({
            "project_version": "0.1.0", "pipeline_version": "p", "scenario_id": "s",
            "scenario_version": "1.0.0", "ocsf_version": "1.7.0", "contracts_version": "0.1.0",
            "rule_set_sha256": "sha256:00", "evaluator_version": "pa-detect/0.1.0"}))
        .expect("extra pins are accepted");
        assert_eq!(v.extra["evaluator_version"], "pa-detect/0.1.0");
        let back = serde_json::to_value(&v).unwrap();
        assert_eq!(back["rule_set_sha256"], "sha256:00");
    }
    use crate::reason::{CommonReason, DetectionReason};

    fn o(status: OutcomeStatus, mode: FailMode) -> StageOutcome {
        StageOutcome {
            stage: "detection".into(),
            status,
            fail_mode: mode,
            reason_code: None,
            duration_ms: None,
            message: None,
        }
    }

    /// Every combination of up to three outcomes from the four kinds.
    #[test]
    fn status_derivation_table() {
        use FailMode::*;
        use OutcomeStatus::*;
        let kinds = [
            (Success, FailClosed),
            (Failed, WarnAndSkip),
            (Failed, FailClosed),
            (Skipped, FailClosed),
        ];
        assert_eq!(derive_status(&[]), RunStatus::Success);
        for a in kinds {
            for b in kinds {
                for c in kinds {
                    let v = vec![o(a.0, a.1), o(b.0, b.1), o(c.0, c.1)];
                    let any_fc = v
                        .iter()
                        .any(|x| x.status == Failed && x.fail_mode == FailClosed);
                    let any_ws = v
                        .iter()
                        .any(|x| x.status == Failed && x.fail_mode == WarnAndSkip);
                    let expected = if any_fc {
                        RunStatus::Failed
                    } else if any_ws {
                        RunStatus::Partial
                    } else {
                        RunStatus::Success
                    };
                    assert_eq!(derive_status(&v), expected, "{a:?} {b:?} {c:?}");
                }
            }
        }
        // Skipped with warn_and_skip mode never degrades.
        assert_eq!(
            derive_status(&[o(Skipped, WarnAndSkip)]),
            RunStatus::Success
        );
    }

    #[test]
    fn substages_sort_after_parent_and_count_for_status() {
        let mut outs = vec![
            StageOutcome::success(Stage::Detection),
            StageOutcome {
                stage: "telemetry.windows_eventlog.raw_mode".into(),
                ..StageOutcome::failed(
                    Stage::Telemetry,
                    FailMode::WarnAndSkip,
                    CommonReason::InputMissing.into(),
                )
            },
            StageOutcome::success(Stage::Telemetry),
            StageOutcome::success(Stage::LabProvider),
        ];
        sort_outcomes(&mut outs);
        let names: Vec<_> = outs.iter().map(|o| o.stage.as_str()).collect();
        assert_eq!(
            names,
            [
                "lab_provider",
                "telemetry",
                "telemetry.windows_eventlog.raw_mode",
                "detection"
            ]
        );
        assert_eq!(derive_status(&outs), RunStatus::Partial);
        let f = StageOutcome::failed(
            Stage::Detection,
            FailMode::FailClosed,
            DetectionReason::SigmaRulesetLoadFailed.into(),
        );
        assert_eq!(f.reason_code.as_deref(), Some("sigma_ruleset_load_failed"));
    }
}
