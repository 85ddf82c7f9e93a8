//! The scoring stage: `scoring/summary.json` — per action and per technique: executed,
//! telemetry seen, detected (with its attribution), first-detection latency; technique
//! coverage, latency percentiles, unattributed detections, Tier-1 field coverage; and for
//! every executed action that was not detected, the layer that lost it (gap category) with
//! its evidence. Thresholds (range `scoring.thresholds`, SPEC §9 defaults) are evaluated into
//! gates; a violated gate is recorded as the `scoring.thresholds` substage (`warn_and_skip`,
//! `threshold_violated`), which makes the run `partial` (exit 10): that is the CI gate.
//!
//! Reads: `ground_truth.jsonl` (required), `detections/detections.jsonl`,
//! `bridge/compiled_plans.jsonl`, `criteria/results.jsonl`, `normalized/ocsf_events/`,
//! `normalized/mapping_coverage.json`, `runner/actions/*/executor.json` (tagged pids, for exact
//! attribution through the audit sessions they opened). Missing optional inputs degrade the
//! judgement, never the stage.

pub mod gaps;
pub mod load;
pub mod metrics;
pub mod model;
pub mod score;

use pa_bundle::reason::{CommonReason, ScoringReason};
use pa_bundle::{FailMode, Stage, StageOutcome};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use std::path::Path;

/// Where the summary is published.
pub const SUMMARY_PATH: &str = "scoring/summary.json";

/// Why scoring could not read its inputs.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// A file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        message: String,
    },
    /// A file does not hold what its contract says.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
}

impl ScoreError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> ScoreError {
        ScoreError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// The reason code of the error.
    pub fn reason(&self) -> ScoringReason {
        ScoringReason::JoinIncompleteness
    }
}

fn optional_jsonl(p: &Path) -> Result<Option<Vec<(usize, serde_json::Value)>>, ScoreError> {
    if p.is_file() {
        load::jsonl(p).map(Some)
    } else {
        Ok(None)
    }
}

/// Load every input of a bundle and score it.
pub fn score_bundle(
    run: &Path,
    run_id: &str,
    range: &pa_config::RangeConfig,
    generated_at_utc: String,
) -> Result<model::Summary, ScoreError> {
    let gt_path = run.join("ground_truth.jsonl");
    let ground_truth = load::jsonl(&gt_path)?;
    let scenario = ground_truth
        .first()
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    let (scenario_id, scenario_version) =
        match pa_config::ScenarioConfig::load(&run.join("inputs/scenario.yaml")) {
            Ok(s) => (s.scenario_id, s.scenario_version),
            Err(_) => (
                scenario["scenario_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                scenario["scenario_version"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
        };
    let (plans, plan_lines) = load::plans(run)?;
    let inputs = score::Inputs {
        run_id: run_id.to_string(),
        scenario_id,
        scenario_version,
        ground_truth,
        criteria: optional_jsonl(&run.join("criteria/results.jsonl"))?,
        detections: optional_jsonl(&run.join("detections/detections.jsonl"))?.unwrap_or_default(),
        plans,
        plan_lines,
        mapping_coverage: load::json(&run.join("normalized/mapping_coverage.json")).ok(),
        events: load::events(&run.join("normalized/ocsf_events"))?,
        tagged: load::tagged_pids(run)?,
        thresholds: model::ThresholdValues::from_config(&range.scoring),
    };
    let mut summary = score::score(&inputs, generated_at_utc);
    for rel in [
        "ground_truth.jsonl",
        "criteria/results.jsonl",
        "detections/detections.jsonl",
        "bridge/coverage.json",
        "normalized/mapping_coverage.json",
        "normalized/ocsf_events/_schema.json",
    ] {
        summary
            .inputs
            .insert(rel.to_string(), load::digest(&run.join(rel)));
    }
    Ok(summary)
}

/// The stage function.
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let range = ctx.range()?;
    ctx.input("ground_truth.jsonl").map_err(|e| {
        StageFailure::new(
            CommonReason::InputMissing,
            format!(
                "{}: scoring judges the actions of the ground truth",
                e.message
            ),
        )
    })?;
    let summary = score_bundle(
        ctx.run.path(),
        ctx.run.run_id(),
        &range,
        pa_canon::now_utc_string(),
    )
    .map_err(|e| StageFailure::new(e.reason(), e.to_string()))?;
    ctx.staging
        .write_json(SUMMARY_PATH, &summary)
        .map_err(|e| StageFailure::new(ScoringReason::SummaryWriteFailed, e.to_string()))?;
    let m = &summary.metrics;
    let failed: Vec<String> = summary
        .gates
        .iter()
        .filter(|g| g.pass == Some(false))
        .map(|g| {
            format!(
                "{} (actual {}, threshold {})",
                g.gate_id,
                g.actual
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "-".into()),
                g.threshold
            )
        })
        .collect();
    let thresholds = if failed.is_empty() {
        StageOutcome::success(Stage::Scoring)
    } else {
        StageOutcome::failed(
            Stage::Scoring,
            FailMode::WarnAndSkip,
            ScoringReason::ThresholdViolated.into(),
        )
        .with_message(format!("threshold(s) not met: {}", failed.join("; ")))
    };
    let coverage = m
        .technique_coverage_rate
        .map(|r| format!("{:.0}%", r * 100.0))
        .unwrap_or_else(|| "n/a".into());
    Ok(StageSuccess {
        summary: format!(
            "{} of {} executed action(s) detected, technique coverage {coverage}, {} gap(s), {} unattributed detection(s){}",
            m.actions_detected,
            m.actions_executed,
            m.gap_counts.values().sum::<u64>(),
            m.false_positive_detection_count,
            if failed.is_empty() {
                String::new()
            } else {
                format!("; {} threshold(s) not met", failed.len())
            }
        ),
        substages: vec![StageOutcome {
            stage: "scoring.thresholds".into(),
            ..thresholds
        }],
        ..Default::default()
    })
}
