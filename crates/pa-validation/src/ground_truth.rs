//! The part of `ground_truth.jsonl` validation reads: identity, join keys, selector context,
//! and the lifecycle phases that decide whether (and from when) an action is evaluated.

use crate::ValidateError;
use pa_criteria::ActionContext;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The skip code of an action whose prepare phase failed.
pub const ACTION_FAILED_BEFORE_EVALUATION: &str = "action_failed_before_evaluation";
/// The skip code of an action whose execute phase is absent or skipped.
pub const ACTION_NOT_EXECUTED: &str = "action_not_executed";

/// One lifecycle phase attempt.
#[derive(Debug, Clone, Deserialize)]
pub struct Phase {
    /// `prepare`, `execute`, `revert`, `teardown`.
    pub phase: String,
    #[serde(default = "one")]
    pub attempt_ordinal: u32,
    /// `success`, `failed`, `skipped`.
    pub phase_outcome: String,
    #[serde(default)]
    pub started_at_utc: Option<String>,
}

fn one() -> u32 {
    1
}

/// `lifecycle`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Lifecycle {
    #[serde(default)]
    pub phases: Vec<Phase>,
}

/// `resolved_target` (the selector context).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Target {
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// One ground-truth action (the fields validation uses; the rest is ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct GroundTruthAction {
    pub run_id: String,
    pub scenario_id: String,
    pub action_id: String,
    pub action_key: String,
    pub technique_id: String,
    pub engine: String,
    #[serde(default)]
    pub engine_test_id: Option<String>,
    /// The start of the first phase (absent when the action never started).
    #[serde(default)]
    pub timestamp_utc: Option<String>,
    #[serde(default)]
    pub resolved_target: Option<Target>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub extensions: Option<Value>,
    /// The 1-based line of the row in `ground_truth.jsonl`.
    #[serde(skip)]
    pub line: usize,
}

/// What validation does with an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Evaluate it with `t0` (epoch ms) as the action's time.
    Evaluate { t0_ms: i64 },
    /// Skip it with this `criteria_result` code.
    Skip(&'static str),
}

/// The cleanup summary of a result row, from the revert (cleanup command) and teardown
/// (cleanup verification) phases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CleanupSummary {
    /// The cleanup command ran (revert succeeded or failed).
    pub invoked: bool,
    /// The revert phase's outcome: `success`, `failed`, `skipped`, or `not_recorded`.
    pub status: &'static str,
    /// The teardown phase's outcome: `success`, `failed`, `skipped`, or `not_recorded`.
    pub verification_status: &'static str,
}

fn outcome_word(p: Option<&Phase>) -> &'static str {
    match p.map(|p| p.phase_outcome.as_str()) {
        None => "not_recorded",
        Some("success") => "success",
        Some("failed") => "failed",
        Some(_) => "skipped",
    }
}

impl GroundTruthAction {
    /// The last attempt of a phase.
    pub fn phase(&self, name: &str) -> Option<&Phase> {
        self.lifecycle
            .phases
            .iter()
            .filter(|p| p.phase == name)
            .max_by_key(|p| p.attempt_ordinal)
    }

    /// Whether and from when the action is evaluated: a failed prepare phase →
    /// `action_failed_before_evaluation`; an execute phase absent or skipped →
    /// `action_not_executed`; otherwise t0 is the execute phase's start (the test's own
    /// commands start there; prerequisite checks and `get_prereq_command` before it run under
    /// prepare), else the action's `timestamp_utc`.
    pub fn disposition(&self) -> Result<Disposition, ValidateError> {
        if self
            .phase("prepare")
            .is_some_and(|p| p.phase_outcome == "failed")
        {
            return Ok(Disposition::Skip(ACTION_FAILED_BEFORE_EVALUATION));
        }
        let Some(exec) = self.phase("execute") else {
            return Ok(Disposition::Skip(ACTION_NOT_EXECUTED));
        };
        if exec.phase_outcome != "success" && exec.phase_outcome != "failed" {
            return Ok(Disposition::Skip(ACTION_NOT_EXECUTED));
        }
        let ts = exec
            .started_at_utc
            .as_deref()
            .or(self.timestamp_utc.as_deref())
            .ok_or_else(|| ValidateError::NoActionTime {
                action_id: self.action_id.clone(),
                message: "the execute phase ran but neither it nor the action has a start time"
                    .into(),
            })?;
        let t0_ms =
            pa_canon::parse_rfc3339_to_millis(ts).map_err(|e| ValidateError::NoActionTime {
                action_id: self.action_id.clone(),
                message: e.to_string(),
            })?;
        Ok(Disposition::Evaluate { t0_ms })
    }

    /// The selection context: join keys, the target's OS and role, the Atomic executor.
    pub fn context(&self) -> ActionContext {
        let target = self.resolved_target.clone().unwrap_or_default();
        ActionContext {
            engine: self.engine.clone(),
            technique_id: self.technique_id.clone(),
            engine_test_id: self.engine_test_id.clone().unwrap_or_default(),
            os: target.os,
            roles: target.role.into_iter().collect(),
            executor: self
                .extensions
                .as_ref()
                .and_then(|e| e.pointer("/atomic/executor"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    /// The cleanup summary.
    pub fn cleanup(&self) -> CleanupSummary {
        let revert = self.phase("revert");
        let status = outcome_word(revert);
        CleanupSummary {
            invoked: status == "success" || status == "failed",
            status,
            verification_status: outcome_word(self.phase("teardown")),
        }
    }
}

/// Read `ground_truth.jsonl` (one action per line; blank lines are ignored).
pub fn read_ground_truth(path: &Path) -> Result<Vec<GroundTruthAction>, ValidateError> {
    let text = std::fs::read_to_string(path).map_err(|e| ValidateError::GroundTruthMissing {
        message: format!("{}: {e}", path.display()),
    })?;
    parse_ground_truth(path, &text)
}

/// Parse the text of `ground_truth.jsonl`; `path` names it in errors.
pub fn parse_ground_truth(
    path: &Path,
    text: &str,
) -> Result<Vec<GroundTruthAction>, ValidateError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut a: GroundTruthAction =
            serde_json::from_str(line).map_err(|e| ValidateError::GroundTruthInvalid {
                message: format!(
                    "{}:{}: not a ground truth action: {e}",
                    path.display(),
                    i + 1
                ),
            })?;
        a.line = i + 1;
        out.push(a);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(phases: Value) -> GroundTruthAction {
        serde_json::from_value(json!({
            "run_id": "r", "scenario_id": "s", "action_id": "a1", "action_key": "k",
            "technique_id": "T1082", "engine": "atomic", "engine_test_id": "g",
            "timestamp_utc": "2026-01-01T00:00:00.000Z",
            "resolved_target": {"os": "linux", "role": "workstation", "tags": []},
            "lifecycle": {"phases": phases},
            "extensions": {"atomic": {"executor": "sh"}}
        }))
        .unwrap()
    }

    fn ph(phase: &str, outcome: &str, start: Option<&str>) -> Value {
        let mut v = json!({"phase": phase, "attempt_ordinal": 1, "phase_outcome": outcome});
        if let Some(s) = start {
            v["started_at_utc"] = json!(s);
        }
        v
    }

    const T_EXEC: &str = "2026-01-01T00:00:03.250Z";

    #[test]
    fn t0_is_the_execute_start() {
        let a = action(json!([
            ph("prepare", "success", Some("2026-01-01T00:00:00.000Z")),
            ph("execute", "failed", Some(T_EXEC)),
            ph("revert", "success", Some("2026-01-01T00:00:04.000Z")),
            ph("teardown", "skipped", None),
        ]));
        let t0 = pa_canon::parse_rfc3339_to_millis(T_EXEC).unwrap();
        assert_eq!(
            a.disposition().unwrap(),
            Disposition::Evaluate { t0_ms: t0 }
        );
        assert_eq!(
            a.cleanup(),
            CleanupSummary {
                invoked: true,
                status: "success",
                verification_status: "skipped"
            }
        );
        let c = a.context();
        assert_eq!(c.os.as_deref(), Some("linux"));
        assert_eq!(c.roles, ["workstation"]);
        assert_eq!(c.executor.as_deref(), Some("sh"));
        // Without an execute start, the action's timestamp.
        let a = action(json!([ph("execute", "success", None)]));
        let t0 = pa_canon::parse_rfc3339_to_millis("2026-01-01T00:00:00.000Z").unwrap();
        assert_eq!(
            a.disposition().unwrap(),
            Disposition::Evaluate { t0_ms: t0 }
        );
        assert_eq!(a.cleanup().status, "not_recorded");
        assert!(!a.cleanup().invoked);
    }

    #[test]
    fn skips_follow_the_lifecycle() {
        let a = action(json!([
            ph("prepare", "failed", Some(T_EXEC)),
            ph("execute", "skipped", None)
        ]));
        assert_eq!(
            a.disposition().unwrap(),
            Disposition::Skip(ACTION_FAILED_BEFORE_EVALUATION)
        );
        let a = action(json!([
            ph("prepare", "skipped", None),
            ph("execute", "skipped", None)
        ]));
        assert_eq!(
            a.disposition().unwrap(),
            Disposition::Skip(ACTION_NOT_EXECUTED)
        );
        let a = action(json!([ph("prepare", "success", Some(T_EXEC))]));
        assert_eq!(
            a.disposition().unwrap(),
            Disposition::Skip(ACTION_NOT_EXECUTED)
        );
        let a = action(json!([ph("revert", "skipped", None)]));
        assert_eq!(a.cleanup().status, "skipped");
        assert!(!a.cleanup().invoked);
        // A retried phase: the last attempt counts.
        let mut retry = ph("prepare", "success", Some(T_EXEC));
        retry["attempt_ordinal"] = json!(2);
        let a = action(json!([
            ph("prepare", "failed", None),
            retry,
            ph("execute", "success", Some(T_EXEC))
        ]));
        assert!(matches!(
            a.disposition().unwrap(),
            Disposition::Evaluate { .. }
        ));
    }

    #[test]
    fn an_executed_action_without_time_is_a_window_error() {
        let mut a = action(json!([ph("execute", "success", None)]));
        a.timestamp_utc = None;
        let e = a.disposition().unwrap_err();
        assert_eq!(e.reason().as_str(), "time_window_error");
        assert!(e.to_string().contains("a1"), "{e}");
    }

    #[test]
    fn bad_lines_are_named() {
        let e = parse_ground_truth(Path::new("gt.jsonl"), "\n{\"x\":1}\n").unwrap_err();
        assert!(e.to_string().starts_with("gt.jsonl:2:"), "{e}");
        assert_eq!(e.reason().as_str(), "ground_truth_missing");
    }
}
