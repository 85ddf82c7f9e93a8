//! The reporting stage: what a person reads and what CI consumes.
//!
//! Reads `scoring/summary.json` (required; contract `scoring_summary`), `manifest.json`,
//! `ground_truth.jsonl`, and when present `normalized/mapping_coverage.json`,
//! `bridge/coverage.json`, `logs/telemetry_validation.json` and `criteria/results.jsonl`; writes
//! `report/report.json` (contract `report`), `report/thresholds.json` (`thresholds`),
//! `report/run_timeline.md`, `report/report.html` (one self-contained file), `report/junit.xml`
//! and `report/attack_layer.json` (`attack_layer`). With a baseline it also compares the two
//! runs ([`regression`]): the result is `report.json`'s `regression` member, the
//! `regression_alert` gate of `thresholds.json` and the report's Regression section, and the
//! baseline's identity is pinned in `inputs/baseline_run_ref.json` and
//! `inputs/baseline/manifest.json` (SPEC §10).
//!
//! Everything is derived from the inputs alone: re-running on the same bundle gives the same
//! bytes except `generated_at_utc` (report.json) and `evaluated_at_utc` (thresholds.json).
//! The report is `partial` when a quality gate failed or a regression alert fired. Scoring records
//! its own gate failures (`scoring.thresholds`); reporting records what the run does not hold
//! yet, a regression alert or the failed gates of a summary nobody recorded, as the substage
//! `reporting.thresholds` (`warn_and_skip`, `thresholds_not_met`: run `partial`, exit 10).

pub mod analysis;
pub mod attack;
pub mod html;
pub mod inputs;
pub mod junit;
pub mod layer;
pub mod model;
pub mod regression;
pub mod report;
pub mod svg;
pub mod synthetic;
pub mod thresholds;
pub mod timeline;
pub mod trend;

use pa_bundle::reason::{CommonReason, ReportingReason};
use pa_bundle::{FailMode, OutcomeStatus, ReasonCode, StageOutcome};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use regression::{BaselineRef, Regression};
use std::path::{Path, PathBuf};

/// The substage that records a run comparison.
pub const REGRESSION_SUBSTAGE: &str = "reporting.regression_compare";

/// What went wrong in reporting. Each message names the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A required input is missing.
    #[error("{}: missing: {what}", path.display())]
    InputMissing { path: PathBuf, what: String },
    /// An input does not hold what its contract says.
    #[error("{}: {message}", path.display())]
    InvalidInput { path: PathBuf, message: String },
    /// An input could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// An output could not be written.
    #[error("{}: cannot write: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A template did not render.
    #[error("HTML rendering failed: {0}")]
    Render(String),
    /// A document could not be serialized as canonical JSON.
    #[error("canonical JSON: {0}")]
    Canonical(pa_canon::CanonError),
    /// The bundle layer failed (staging, contracts, atomic writes).
    #[error(transparent)]
    Bundle(#[from] pa_bundle::BundleError),
    /// The baseline of a comparison is missing or unusable.
    #[error("baseline {}: {message}", path.display())]
    Baseline {
        path: PathBuf,
        code: ReportingReason,
        message: String,
    },
    /// `trend` found no run with a scoring summary.
    #[error("{}: no run with a scoring summary{} ({skipped} run(s) skipped)", workspace.display(), scenario.as_ref().map(|s| format!(" for scenario {s}")).unwrap_or_default())]
    NoRuns {
        workspace: PathBuf,
        scenario: Option<String>,
        skipped: usize,
    },
}

impl ReportError {
    /// The reason code of this error (the one place errors map to codes).
    pub fn reason(&self) -> ReasonCode {
        match self {
            ReportError::InputMissing { .. } | ReportError::NoRuns { .. } => {
                CommonReason::InputMissing.into()
            }
            ReportError::InvalidInput { .. } => CommonReason::ContractValidationFailed.into(),
            ReportError::Read { .. } => CommonReason::StorageIoError.into(),
            ReportError::Render(_) => ReportingReason::HtmlRenderError.into(),
            ReportError::Write { .. } | ReportError::Canonical(_) | ReportError::Bundle(_) => {
                ReportingReason::ReportWriteFailed.into()
            }
            ReportError::Baseline { code, .. } => (*code).into(),
        }
    }
}

impl From<ReportError> for StageFailure {
    fn from(e: ReportError) -> Self {
        StageFailure::new(e.reason(), e.to_string())
    }
}

/// Stage options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Compare with this baseline run bundle.
    pub baseline: Option<PathBuf>,
    /// Do not write `report/report.html`.
    pub no_html: bool,
    /// Compare across a changed mapping pack or profile (disallowed by default).
    pub allow_mapping_drift: bool,
}

/// What a reporting run concluded (for the binary's own output and exit code).
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub run_id: String,
    /// `success` or `partial`.
    pub status: String,
    pub regression: Option<Regression>,
}

/// A document as canonical JSON (RFC 8785).
pub fn jcs<T: serde::Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, ReportError> {
    pa_canon::jcs(v).map_err(ReportError::Canonical)
}

/// The current time as RFC 3339 UTC with milliseconds (for the volatile timestamps).
pub fn now() -> String {
    pa_canon::now_utc_string()
}

fn baseline_ref(dir: &Path) -> BaselineRef {
    BaselineRef {
        run_dir: dir.display().to_string(),
        ..Default::default()
    }
}

/// Compare the run of `inputs` with the baseline bundle at `dir`; also returns the baseline's
/// manifest bytes.
pub fn compare_with(
    dir: &Path,
    inputs: &inputs::Inputs,
    allow_mapping_drift: bool,
) -> Result<(Regression, Vec<u8>), ReportError> {
    let missing = |message: String| ReportError::Baseline {
        path: dir.to_path_buf(),
        code: ReportingReason::BaselineMissing,
        message,
    };
    let mpath = dir.join("manifest.json");
    let bytes = std::fs::read(&mpath).map_err(|e| {
        missing(format!(
            "manifest.json cannot be read ({e}); is this a run bundle?"
        ))
    })?;
    let failed = |message: String| ReportError::Baseline {
        path: dir.to_path_buf(),
        code: ReportingReason::RegressionCompareFailed,
        message,
    };
    let bm: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| failed(format!("manifest.json is not JSON: {e}")))?;
    let summary = match inputs::load_summary(dir) {
        Ok(s) => s,
        Err(ReportError::InputMissing { .. }) => {
            return Err(missing(
                "scoring/summary.json is missing: score the baseline run first".into(),
            ));
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    let cm = pa_canon::to_value(&inputs.manifest).map_err(ReportError::Canonical)?;
    let mut bref = baseline_ref(dir);
    bref.run_id = bm["run_id"].as_str().map(str::to_string);
    bref.started_at_utc = bm["started_at_utc"].as_str().map(str::to_string);
    bref.manifest_sha256 = Some(pa_canon::sha256_prefixed(&bytes));
    let r = regression::compare(
        bref,
        &bm,
        &summary,
        &cm,
        &inputs.summary,
        allow_mapping_drift,
    );
    Ok((r, bytes))
}

fn substage(code: Option<ReasonCode>, message: Option<String>) -> StageOutcome {
    StageOutcome {
        stage: REGRESSION_SUBSTAGE.into(),
        status: if code.is_some() {
            OutcomeStatus::Failed
        } else {
            OutcomeStatus::Success
        },
        fail_mode: FailMode::WarnAndSkip,
        reason_code: code.map(|c| c.as_str().to_string()),
        duration_ms: None,
        message,
    }
}

/// The substage that records what reporting adds to the run's degradation.
pub const THRESHOLDS_SUBSTAGE: &str = "reporting.thresholds";

/// `reporting.thresholds` (`warn_and_skip`, `thresholds_not_met`) when the report is `partial`
/// for a reason the run does not record yet: a regression alert (reporting's own gate), or failed
/// gates of a summary whose scoring run did not record them (`scoring.thresholds`). Scoring's own
/// gate failures are not recorded twice.
fn thresholds_outcome(
    manifest: &pa_bundle::Manifest,
    th: &thresholds::Thresholds,
    summary: &model::Summary,
) -> Option<StageOutcome> {
    let scoring_recorded = manifest
        .stage_outcomes
        .iter()
        .any(|o| o.stage == "scoring.thresholds" && o.status == OutcomeStatus::Failed);
    let mut why: Vec<String> = Vec::new();
    for g in th.failed() {
        if g.gate_id == thresholds::REGRESSION_GATE || !scoring_recorded {
            why.extend(g.degradation_reason.clone());
        }
    }
    if why.is_empty() && !scoring_recorded && summary.status_recommendation != "success" {
        why.push(format!(
            "scoring recommends {}",
            summary.status_recommendation
        ));
    }
    (!why.is_empty()).then(|| StageOutcome {
        stage: THRESHOLDS_SUBSTAGE.into(),
        status: OutcomeStatus::Failed,
        fail_mode: FailMode::WarnAndSkip,
        reason_code: Some(ReportingReason::ThresholdsNotMet.as_str().into()),
        duration_ms: None,
        message: Some(format!("quality gates not met: {}", why.join("; "))),
    })
}

fn write_failed(e: pa_bundle::BundleError) -> StageFailure {
    StageFailure::new(ReportingReason::ReportWriteFailed, e.to_string())
}

/// The reporting stage (bundle mode). `out` receives what the run concluded.
pub fn run(
    ctx: &mut StageContext<'_>,
    opts: &Options,
    out: &mut Option<RunOutcome>,
) -> Result<StageSuccess, StageFailure> {
    let summary = ctx.run.path().join(inputs::SUMMARY);
    if std::fs::symlink_metadata(&summary).is_err() {
        return Err(ReportError::InputMissing {
            path: summary,
            what: "the scoring summary this stage reports on: run the scoring stage (pa-score) \
                   first, or provide scoring/summary.json (contract scoring_summary)"
                .into(),
        }
        .into());
    }
    ctx.input(inputs::SUMMARY)?;
    ctx.input(inputs::GROUND_TRUTH)?;
    let started = std::time::Instant::now();
    let phase = |what: &str| {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "reporting: {what}"
        );
    };
    let inputs = inputs::load(ctx.run.path(), ctx.manifest.clone())?;
    phase("inputs read and checked");
    if inputs.summary.run_id != ctx.manifest.run_id {
        return Err(ReportError::InvalidInput {
            path: ctx.run.path().join(inputs::SUMMARY),
            message: format!(
                "summary of run {} in the bundle of run {}",
                inputs.summary.run_id, ctx.manifest.run_id
            ),
        }
        .into());
    }
    let analysis = analysis::analyze(&inputs);
    phase("analysis");

    let mut substages = Vec::new();
    let mut baseline_bytes = None;
    let regression = opts.baseline.as_deref().map(|dir| {
        match compare_with(dir, &inputs, opts.allow_mapping_drift) {
            Ok((r, bytes)) => {
                baseline_bytes = Some(bytes);
                substages.push(if r.compared() {
                    substage(None, None)
                } else {
                    substage(
                        Some(ReportingReason::BaselineIncompatible.into()),
                        Some(r.comparability.message.clone()),
                    )
                });
                r
            }
            Err(e) => {
                let code = e.reason();
                substages.push(substage(Some(code), Some(e.to_string())));
                Regression::failed(baseline_ref(dir), code.as_str(), e.to_string())
            }
        }
    });

    let now = pa_canon::now_utc_string();
    let th = thresholds::build(&inputs.summary, regression.as_ref(), &now);
    let report = report::build(&inputs, &analysis, &th, regression.as_ref(), &now);
    phase("report built");
    let st = &mut *ctx.staging;
    // The page renders on a second thread while the other documents are written.
    let page = std::thread::scope(|scope| -> Result<Option<String>, StageFailure> {
        let html = (!opts.no_html).then(|| {
            scope.spawn(|| html::render(&inputs, &analysis, &th, regression.as_ref(), &report))
        });
        st.write_json("report/report.json", &report)
            .map_err(write_failed)?;
        st.write_json("report/thresholds.json", &th)
            .map_err(write_failed)?;
        st.write(
            "report/run_timeline.md",
            timeline::render(&inputs, &analysis, &th.status_recommendation).as_bytes(),
        )
        .map_err(write_failed)?;
        st.write(
            "report/junit.xml",
            junit::render(&inputs, &analysis).as_bytes(),
        )
        .map_err(write_failed)?;
        st.write_json(
            "report/attack_layer.json",
            &layer::build(&inputs, &analysis),
        )
        .map_err(write_failed)?;
        phase("report.json, thresholds.json, run_timeline.md, junit.xml, attack_layer.json staged");
        match html.map(|h| h.join()) {
            None => Ok(None),
            Some(Ok(page)) => Ok(Some(page?)),
            Some(Err(_)) => Err(StageFailure::new(
                ReportingReason::HtmlRenderError,
                "the HTML renderer panicked",
            )),
        }
    })?;
    if let Some(page) = page {
        st.write("report/report.html", page.as_bytes())
            .map_err(write_failed)?;
    }
    phase("report.html rendered and staged");
    if let (Some(bytes), Some(r)) = (&baseline_bytes, &regression) {
        st.write("inputs/baseline/manifest.json", bytes)
            .map_err(write_failed)?;
        st.write_json(
            "inputs/baseline_run_ref.json",
            &serde_json::json!({
                "contract_version": pa_bundle::CONTRACT_VERSION,
                "baseline_run_id": r.baseline.run_id,
                "baseline_manifest_path": "inputs/baseline/manifest.json",
                "baseline_manifest_sha256": r.baseline.manifest_sha256,
            }),
        )
        .map_err(write_failed)?;
    }

    let m = &inputs.summary.metrics;
    let mut summary = format!(
        "{}: coverage {} ({} of {} technique(s)), {} gap(s)",
        th.status_recommendation,
        html::pct(m.technique_coverage_rate),
        m.techniques_detected,
        m.techniques_executed,
        analysis.gaps.len()
    );
    if let Some(r) = &regression {
        summary.push_str(&format!(
            "; regression: {}",
            if r.regression_alerted {
                "ALERT"
            } else if r.compared() {
                "none"
            } else {
                "not compared"
            }
        ));
    }
    if let Some(t) = thresholds_outcome(ctx.manifest, &th, &inputs.summary) {
        substages.push(t);
    }
    *out = Some(RunOutcome {
        run_id: inputs.summary.run_id.clone(),
        status: th.status_recommendation.clone(),
        regression,
    });
    Ok(StageSuccess {
        summary,
        warnings: Vec::new(),
        substages,
        versions: Default::default(),
    })
}
