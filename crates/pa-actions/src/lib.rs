//! The runner stage: produces `ground_truth.jsonl`, what ran, where and when.
//!
//! Providers: `replay` imports a recorded ground truth (the range's `replay.ground_truth`) and
//! executes nothing; `local` and `ssh` run Atomic Red Team tests through the executors of
//! `pa-exec` ([`live`]).

pub mod identity;
pub mod live;

use pa_bundle::reason::{CommonReason, RunnerReason};
use pa_config::{LabProvider, RangeConfig, ScenarioConfig};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// One line of a recorded ground truth file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedAction {
    pub action_id: String,
    pub technique_id: String,
    pub target_asset_id: String,
    /// When the action started (RFC 3339).
    pub timestamp_utc: String,
    #[serde(default)]
    pub ended_at_utc: Option<String>,
    /// `recorded` (or `atomic` when the recording came from an Atomic run).
    #[serde(default = "recorded")]
    pub engine: String,
    #[serde(default)]
    pub engine_test_id: Option<String>,
    /// The recording the action's telemetry comes from (informative).
    #[serde(default)]
    pub source_file: Option<String>,
    /// The exit code of the recorded execution, when known.
    #[serde(default)]
    pub exit_code: Option<i64>,
}

fn recorded() -> String {
    "recorded".into()
}

/// Read a recorded ground truth (JSONL); errors name the file and line.
pub fn read_recorded(path: &Path) -> Result<Vec<RecordedAction>, StageFailure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        StageFailure::new(
            CommonReason::InputMissing,
            format!("{}: recorded ground truth: {e}", path.display()),
        )
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: RecordedAction = serde_json::from_str(line).map_err(|e| {
            StageFailure::new(
                CommonReason::ConfigSchemaInvalid,
                format!("{}:{}: {e}", path.display(), i + 1),
            )
        })?;
        out.push(r);
    }
    Ok(out)
}

fn ms(s: &str, what: &str) -> Result<String, StageFailure> {
    pa_canon::parse_rfc3339_to_millis(s)
        .map(pa_canon::format_utc_millis)
        .map_err(|e| StageFailure::new(CommonReason::ConfigSchemaInvalid, format!("{what}: {e}")))
}

/// Build the ground-truth rows of a replay run.
pub fn replay_rows(
    run_id: &str,
    range: &RangeConfig,
    scenario: &ScenarioConfig,
    recorded: &[RecordedAction],
    gt_file: &str,
) -> Result<Vec<Value>, StageFailure> {
    let assets: BTreeMap<&str, &pa_config::Asset> = range
        .lab
        .assets
        .iter()
        .map(|a| (a.asset_id.as_str(), a))
        .collect();
    let mut by_action: BTreeMap<&str, &RecordedAction> = BTreeMap::new();
    for r in recorded {
        if by_action.insert(r.action_id.as_str(), r).is_some() {
            return Err(StageFailure::new(
                RunnerReason::ActionKeyCollision,
                format!("{gt_file}: action {:?} is recorded twice", r.action_id),
            ));
        }
        let Some(planned) = scenario.actions.iter().find(|a| a.action_id == r.action_id) else {
            return Err(StageFailure::new(
                CommonReason::ConfigSchemaInvalid,
                format!("{gt_file}: action {:?} is not in the scenario", r.action_id),
            ));
        };
        if planned.technique_id != r.technique_id {
            return Err(StageFailure::new(
                CommonReason::ConfigSchemaInvalid,
                format!(
                    "{gt_file}: action {:?} is {} in the recording but {} in the scenario",
                    r.action_id, r.technique_id, planned.technique_id
                ),
            ));
        }
        if !assets.contains_key(r.target_asset_id.as_str()) {
            return Err(StageFailure::new(
                CommonReason::ConfigSchemaInvalid,
                format!(
                    "{gt_file}: action {:?} targets {:?}, which is not a lab asset",
                    r.action_id, r.target_asset_id
                ),
            ));
        }
    }
    let mut rows = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    for a in &scenario.actions {
        let Some(r) = by_action.get(a.action_id.as_str()) else {
            // Planned but not in the recording: it did not run, and the row says so.
            rows.push(unrecorded_row(
                run_id, range, scenario, a, gt_file, &mut keys,
            )?);
            continue;
        };
        let asset = assets[r.target_asset_id.as_str()];
        let engine_test_id = r
            .engine_test_id
            .clone()
            .unwrap_or_else(|| format!("recorded:{}", r.action_id));
        let (resolved_inputs_sha256, action_key) = recorded_identity(
            &r.engine,
            &r.technique_id,
            &engine_test_id,
            &r.target_asset_id,
            &r.action_id,
            gt_file,
            &mut keys,
        )?;
        let start = ms(
            &r.timestamp_utc,
            &format!("{gt_file}: {} timestamp_utc", r.action_id),
        )?;
        let mut phase = json!({"phase": "execute", "attempt_ordinal": 1, "started_at_utc": start, "phase_outcome": "success"});
        if let Some(end) = &r.ended_at_utc {
            phase["ended_at_utc"] = json!(ms(
                end,
                &format!("{gt_file}: {} ended_at_utc", r.action_id)
            )?);
        }
        if let Some(code) = r.exit_code {
            phase["exit_code"] = json!(code);
            // A recorded non-zero exit is a failed execute phase, not a success.
            if code != 0 {
                phase["phase_outcome"] = json!("failed");
                phase["reason_domain"] = json!("ground_truth");
                phase["reason_code"] = json!(RunnerReason::ExecuteFailed.as_str());
            }
        }
        let marker = identity::marker(run_id, &r.action_id);
        let mut target = json!({"os": asset.os, "role": asset.role, "tags": asset.tags});
        if let Some(h) = &asset.hostname {
            target["hostname"] = json!(h);
        }
        if let Some(ip) = &asset.ip {
            target["ip"] = json!(ip);
        }
        let mut recorded_ext = json!({"ground_truth_file": gt_file});
        if let Some(f) = &r.source_file {
            recorded_ext["source_file"] = json!(f);
        }
        rows.push(json!({
            "run_id": run_id,
            "scenario_id": scenario.scenario_id,
            "scenario_version": scenario.scenario_version,
            "action_id": r.action_id,
            "action_key": action_key,
            "timestamp_utc": start,
            "engine": r.engine,
            "engine_test_id": engine_test_id,
            "technique_id": r.technique_id,
            "target_asset_id": r.target_asset_id,
            "resolved_target": target,
            "parameters": {"input_args_redacted": {}, "resolved_inputs_sha256": resolved_inputs_sha256},
            "lifecycle": {"phases": [phase]},
            "extensions": {
                "synthetic_correlation_marker_digest": identity::marker_digest(&marker),
                "synthetic_correlation_marker": marker,
                "recorded": recorded_ext,
            },
        }));
    }
    rows.sort_by(|a, b| a["action_id"].as_str().cmp(&b["action_id"].as_str()));
    Ok(rows)
}

/// The identity of a recorded action (no inputs): `(resolved_inputs_sha256, action_key)`; a
/// key seen before is an `action_key_collision`.
fn recorded_identity(
    engine: &str,
    technique_id: &str,
    engine_test_id: &str,
    target_asset_id: &str,
    action_id: &str,
    gt_file: &str,
    keys: &mut std::collections::BTreeSet<String>,
) -> Result<(String, String), StageFailure> {
    let digest = identity::resolved_inputs_sha256(&BTreeMap::new())?;
    let key = identity::action_key(
        engine,
        technique_id,
        engine_test_id,
        &digest,
        target_asset_id,
    )?;
    if !keys.insert(key.clone()) {
        return Err(StageFailure::new(
            RunnerReason::ActionKeyCollision,
            format!("{gt_file}: action {action_id:?} has the same action_key as another action"),
        ));
    }
    Ok((digest, key))
}

/// The row of a planned action the recording does not have: it never started (no
/// `timestamp_utc`), its prepare phase is skipped with `not_in_recording` and the later phases
/// are blocked. Its target comes from the scenario's selector.
fn unrecorded_row(
    run_id: &str,
    range: &RangeConfig,
    scenario: &ScenarioConfig,
    a: &pa_config::Action,
    gt_file: &str,
    keys: &mut std::collections::BTreeSet<String>,
) -> Result<Value, StageFailure> {
    let asset = live::plan::select_target(a, &range.lab.assets).map_err(|m| {
        StageFailure::new(
            CommonReason::ConfigSchemaInvalid,
            format!("inputs/scenario.yaml: actions[{}]: {m}", a.action_id),
        )
    })?;
    let engine = "recorded";
    let engine_test_id = format!("recorded:{}", a.action_id);
    let (digest, action_key) = recorded_identity(
        engine,
        &a.technique_id,
        &engine_test_id,
        &asset.asset_id,
        &a.action_id,
        gt_file,
        keys,
    )?;
    let marker = identity::marker(run_id, &a.action_id);
    let mut target = json!({"os": asset.os, "role": asset.role, "tags": asset.tags});
    if let Some(h) = &asset.hostname {
        target["hostname"] = json!(h);
    }
    if let Some(ip) = &asset.ip {
        target["ip"] = json!(ip);
    }
    let blocked = |phase: &str| {
        json!({"phase": phase, "attempt_ordinal": 1, "phase_outcome": "skipped",
               "reason_domain": "ground_truth", "reason_code": "prior_phase_blocked"})
    };
    Ok(json!({
        "run_id": run_id,
        "scenario_id": scenario.scenario_id,
        "scenario_version": scenario.scenario_version,
        "action_id": a.action_id,
        "action_key": action_key,
        "engine": engine,
        "engine_test_id": engine_test_id,
        "technique_id": a.technique_id,
        "target_asset_id": asset.asset_id,
        "resolved_target": target,
        "parameters": {"input_args_redacted": {}, "resolved_inputs_sha256": digest},
        "lifecycle": {"phases": [
            {"phase": "prepare", "attempt_ordinal": 1, "phase_outcome": "skipped",
             "reason_domain": "ground_truth", "reason_code": "not_in_recording",
             "error": {"type": "validation_failed",
                       "message": format!("the action is planned but {gt_file} has no record of it: it did not run")}},
            blocked("execute"), blocked("revert"), blocked("teardown"),
        ]},
        "extensions": {
            "synthetic_correlation_marker_digest": identity::marker_digest(&marker),
            "synthetic_correlation_marker": marker,
            "recorded": {"ground_truth_file": gt_file},
        },
    }))
}

/// The stage function.
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let range = ctx.range()?;
    let scenario_path = ctx.input("inputs/scenario.yaml")?;
    let scenario = ScenarioConfig::load(&scenario_path)
        .map_err(|e| StageFailure::new(CommonReason::ConfigSchemaInvalid, e.to_string()))?;
    match range.lab.provider {
        LabProvider::Replay => {
            let Some(replay) = &range.replay else {
                return Err(StageFailure::new(
                    CommonReason::ConfigSchemaInvalid,
                    "inputs/range.yaml: replay.ground_truth is missing",
                ));
            };
            let path = ctx.range_base_dir().join(&replay.ground_truth);
            let recorded = read_recorded(&path)?;
            let rows = replay_rows(
                ctx.run.run_id(),
                &range,
                &scenario,
                &recorded,
                &replay.ground_truth,
            )?;
            let mut body = String::new();
            for r in &rows {
                body.push_str(&pa_canon::to_jsonl_line(r).map_err(|e| {
                    StageFailure::new(RunnerReason::GroundTruthWriteFailed, e.to_string())
                })?);
            }
            ctx.staging.write("ground_truth.jsonl", body.as_bytes())?;
            let skipped = scenario.actions.len() - recorded.len();
            Ok(StageSuccess {
                summary: format!(
                    "{} recorded action(s) imported, {skipped} planned action(s) not in the recording",
                    rows.len()
                ),
                ..Default::default()
            })
        }
        LabProvider::Local | LabProvider::Ssh => live::run(ctx, &range, &scenario),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUN: &str = "123e4567-e89b-42d3-a456-426614174000";

    fn range() -> RangeConfig {
        RangeConfig::parse(
            "range_id: r\nlab:\n  provider: replay\n  assets:\n    - {asset_id: h1, os: windows, role: ws, hostname: H1}\n    - {asset_id: h2, os: linux, role: srv}\nreplay:\n  ground_truth: gt.jsonl\n",
            Path::new("range.yaml"),
        )
        .unwrap()
    }

    fn scenario() -> ScenarioConfig {
        ScenarioConfig::parse(
            "scenario_id: s\nscenario_version: 1.0.0\nactions:\n  - {action_id: a2, technique_id: T1003.001}\n  - {action_id: a1, technique_id: T1059}\n  - {action_id: a3, technique_id: T1070}\n",
            Path::new("scenario.yaml"),
        )
        .unwrap()
    }

    /// The rows, as `ground_truth.jsonl`, pass the contract gate.
    fn assert_valid_ground_truth(rows: &[Value]) {
        let entry = pa_bundle::contracts::entry_for("ground_truth.jsonl")
            .unwrap()
            .unwrap();
        let body: String = rows
            .iter()
            .map(|r| pa_canon::to_jsonl_line(r).unwrap())
            .collect();
        let (errs, n) = pa_bundle::contracts::validate_artifact(entry, body.as_bytes()).unwrap();
        assert_eq!(n, 0, "{errs:?}");
    }

    fn rec(line: &str) -> RecordedAction {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn rows_are_sorted_complete_and_deterministic() {
        let recorded = vec![
            rec(
                r#"{"action_id":"a2","technique_id":"T1003.001","target_asset_id":"h1","timestamp_utc":"2020-01-01T00:00:01.123456Z","ended_at_utc":"2020-01-01T00:00:02Z"}"#,
            ),
            rec(
                r#"{"action_id":"a1","technique_id":"T1059","target_asset_id":"h2","timestamp_utc":"2020-01-01T01:00:00+01:00"}"#,
            ),
        ];
        let rows = replay_rows(RUN, &range(), &scenario(), &recorded, "gt.jsonl").unwrap();
        assert_eq!(
            rows.len(),
            3,
            "a3 is planned but not recorded: its row says so"
        );
        let a3 = &rows[2];
        assert_eq!(a3["action_id"], "a3");
        assert!(a3.get("timestamp_utc").is_none(), "it never started");
        let phases = a3["lifecycle"]["phases"].as_array().unwrap();
        assert_eq!(phases[0]["phase_outcome"], "skipped");
        assert_eq!(phases[0]["reason_code"], "not_in_recording");
        assert!(
            phases[1..]
                .iter()
                .all(|p| p["reason_code"] == "prior_phase_blocked")
        );
        assert_eq!(rows[0]["action_id"], "a1");
        assert_eq!(rows[0]["timestamp_utc"], "2020-01-01T00:00:00.000Z");
        assert_eq!(rows[1]["timestamp_utc"], "2020-01-01T00:00:01.123Z");
        assert_eq!(rows[1]["resolved_target"]["hostname"], "H1");
        assert_eq!(
            rows[1]["lifecycle"]["phases"][0]["ended_at_utc"],
            "2020-01-01T00:00:02.000Z"
        );
        let again = replay_rows(RUN, &range(), &scenario(), &recorded, "gt.jsonl").unwrap();
        assert_eq!(rows, again);
        assert_valid_ground_truth(&rows);
    }

    #[test]
    fn a_recorded_non_zero_exit_is_a_failed_execute_phase() {
        let recorded = vec![
            rec(
                r#"{"action_id":"a1","technique_id":"T1059","target_asset_id":"h2","timestamp_utc":"2020-01-01T00:00:00Z","exit_code":1}"#,
            ),
            rec(
                r#"{"action_id":"a2","technique_id":"T1003.001","target_asset_id":"h1","timestamp_utc":"2020-01-01T00:00:01Z","exit_code":0}"#,
            ),
        ];
        let rows = replay_rows(RUN, &range(), &scenario(), &recorded, "gt.jsonl").unwrap();
        let phase = |i: usize| rows[i]["lifecycle"]["phases"][0].clone();
        assert_eq!(phase(0)["phase_outcome"], "failed");
        assert_eq!(phase(0)["exit_code"], 1);
        assert_eq!(phase(0)["reason_domain"], "ground_truth");
        assert_eq!(phase(0)["reason_code"], "execute_failed");
        assert_eq!(phase(1)["phase_outcome"], "success");
        assert!(phase(1).get("reason_code").is_none());
        assert_valid_ground_truth(&rows);
    }

    #[test]
    fn bad_recordings_are_named() {
        let cases = [
            (
                r#"{"action_id":"zz","technique_id":"T1059","target_asset_id":"h1","timestamp_utc":"2020-01-01T00:00:00Z"}"#,
                "not in the scenario",
            ),
            (
                r#"{"action_id":"a1","technique_id":"T1070","target_asset_id":"h1","timestamp_utc":"2020-01-01T00:00:00Z"}"#,
                "in the scenario",
            ),
            (
                r#"{"action_id":"a1","technique_id":"T1059","target_asset_id":"nope","timestamp_utc":"2020-01-01T00:00:00Z"}"#,
                "not a lab asset",
            ),
            (
                r#"{"action_id":"a1","technique_id":"T1059","target_asset_id":"h1","timestamp_utc":"soon"}"#,
                "timestamp_utc",
            ),
        ];
        for (line, want) in cases {
            let e = replay_rows(RUN, &range(), &scenario(), &[rec(line)], "gt.jsonl").unwrap_err();
            assert!(
                e.message.contains(want) && e.message.contains("gt.jsonl"),
                "{}",
                e.message
            );
        }
        let dup = rec(
            r#"{"action_id":"a1","technique_id":"T1059","target_asset_id":"h1","timestamp_utc":"2020-01-01T00:00:00Z"}"#,
        );
        assert!(replay_rows(RUN, &range(), &scenario(), &[dup.clone(), dup], "gt.jsonl").is_err());
    }

    #[test]
    fn unknown_keys_in_a_recording_are_rejected_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gt.jsonl");
        std::fs::write(&p, "\n{\"action_id\":\"a1\",\"technique_id\":\"T1059\",\"target_asset_id\":\"h1\",\"timestamp_utc\":\"2020-01-01T00:00:00Z\",\"colour\":1}\n").unwrap();
        let e = read_recorded(&p).unwrap_err();
        assert!(
            e.message.contains("gt.jsonl:2") && e.message.contains("colour"),
            "{}",
            e.message
        );
    }
}
