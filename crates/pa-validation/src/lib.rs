//! The validation stage: did the expected telemetry of each executed action appear?
//!
//! Inputs: `inputs/range.yaml` (`validation.criteria_packs`, `validation.evaluation`),
//! `ground_truth.jsonl` and the normalized store `normalized/ocsf_events/`. Outputs, under
//! `criteria/`: `manifest.json` (the packs used, with digests), `criteria.jsonl` (the entries
//! actually selected) and `results.jsonl` (one row per ground-truth action, sorted by
//! `(scenario_id, action_id)`: `pass`, `fail` with `missing_expected_signal`, or `skipped` with
//! `criteria_unavailable`, `action_not_executed` or `action_failed_before_evaluation`).
//!
//! The criteria model, selection and evaluation are `pa-criteria`'s; this crate reads the
//! bundle ([`run`]), decides per action from its lifecycle ([`ground_truth`]) and builds the
//! documents ([`results::evaluate`]).

pub mod ground_truth;
pub mod results;

use pa_bundle::ReasonCode;
use pa_bundle::reason::{CommonReason, ValidationReason};
use pa_criteria::{Defaults, Evaluator, Pack};
use pa_stage::{StageContext, StageFailure, StageSuccess};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::Path;

pub use ground_truth::{GroundTruthAction, parse_ground_truth, read_ground_truth};
pub use results::{Outputs, ResultRow, evaluate};

/// What stops the validation stage. Each message names the file (and line) or the action.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// Validation is enabled but no pack is configured.
    #[error("no criteria pack configured (validation.criteria_packs in the range file)")]
    NoPacks,
    /// A pack cannot be read or does not decode, or an action's window is out of range.
    #[error(transparent)]
    Criteria(#[from] pa_criteria::CriteriaError),
    /// The same pack id and version are configured twice.
    #[error("{file}: pack {pack_id} {pack_version} is also configured from {other}")]
    DuplicatePack {
        file: String,
        other: String,
        pack_id: String,
        pack_version: String,
    },
    /// `ground_truth.jsonl` is absent or unreadable.
    #[error("ground truth missing: {message}")]
    GroundTruthMissing { message: String },
    /// A line of `ground_truth.jsonl` is not an action.
    #[error("{message}")]
    GroundTruthInvalid { message: String },
    /// An executed action has no usable time.
    #[error("action {action_id}: no evaluation window: {message}")]
    NoActionTime { action_id: String, message: String },
    /// The normalized store cannot be read.
    #[error("normalized store: {0}")]
    Store(String),
    /// A document could not be serialized as canonical JSON.
    #[error("canonical JSON: {0}")]
    Canonical(String),
}

impl ValidateError {
    /// The stage reason code of this error (the one place errors map to reason codes).
    pub fn reason(&self) -> ReasonCode {
        match self {
            ValidateError::NoPacks | ValidateError::DuplicatePack { .. } => {
                ValidationReason::CriteriaPackError.into()
            }
            ValidateError::Criteria(e) => match e {
                pa_criteria::CriteriaError::Pack(_) => ValidationReason::CriteriaPackError.into(),
                pa_criteria::CriteriaError::TimeWindow { .. } => {
                    ValidationReason::TimeWindowError.into()
                }
            },
            ValidateError::GroundTruthMissing { .. } | ValidateError::GroundTruthInvalid { .. } => {
                ValidationReason::GroundTruthMissing.into()
            }
            ValidateError::NoActionTime { .. } => ValidationReason::TimeWindowError.into(),
            ValidateError::Store(_) | ValidateError::Canonical(_) => {
                ValidationReason::CriteriaQueryFailed.into()
            }
        }
    }
}

impl From<ValidateError> for StageFailure {
    fn from(e: ValidateError) -> StageFailure {
        StageFailure::new(e.reason(), e.to_string())
    }
}

/// Load the configured packs (paths relative to `base`); each pack's `file` is set to the path
/// as configured.
pub fn load_packs(base: &Path, files: &[String]) -> Result<Vec<Pack>, ValidateError> {
    if files.is_empty() {
        return Err(ValidateError::NoPacks);
    }
    let mut packs: Vec<Pack> = Vec::new();
    for f in files {
        let mut p = pa_criteria::load_pack(&base.join(f))?;
        if let Some(o) = packs
            .iter()
            .find(|o| o.pack_id == p.pack_id && o.pack_version == p.pack_version)
        {
            return Err(ValidateError::DuplicatePack {
                file: f.clone(),
                other: o.file.to_string_lossy().into_owned(),
                pack_id: p.pack_id,
                pack_version: p.pack_version,
            });
        }
        p.file = f.into();
        packs.push(p);
    }
    Ok(packs)
}

/// The default window sides of the range's `validation.evaluation`.
pub fn defaults(range: &pa_config::RangeConfig) -> Defaults {
    let ev = &range.validation.evaluation;
    let d = Defaults::default();
    Defaults {
        before_seconds: ev.default_before_seconds.unwrap_or(d.before_seconds),
        after_seconds: ev.default_after_seconds.unwrap_or(d.after_seconds),
    }
}

/// Feed every event of the normalized store in `dir` to the evaluator: rows are filtered on
/// their `time` and `class_uid` columns first, and only rows some signal could count are
/// rebuilt as events. Returns the number of rows read.
pub fn read_store(dir: &Path, ev: &mut Evaluator<'_>) -> Result<u64, ValidateError> {
    use pa_store::events::{EventReader, cell, insert_path};
    let err = |e: pa_store::StoreError| ValidateError::Store(e.to_string());
    let mut reader = EventReader::open(dir).map_err(err)?;
    let mut rows = 0u64;
    while let Some((batch, info)) = reader.next_batch().map_err(err)? {
        let col = |name: &str| info.iter().position(|c| c.name == name);
        let (Some(ti), Some(ci)) = (col("time"), col("class_uid")) else {
            return Err(ValidateError::Store(format!(
                "{}: a part has no time or class_uid column",
                dir.display()
            )));
        };
        for row in 0..batch.num_rows() {
            rows += 1;
            let int =
                |i: usize| cell(batch.column(i).as_ref(), false, row).and_then(|v| v.as_i64());
            let (Some(time), Some(class)) = (int(ti), int(ci)) else {
                continue;
            };
            if !ev.wants(class, time) {
                continue;
            }
            let mut m = Map::new();
            for (i, c) in info.iter().enumerate() {
                if let Some(v) = cell(batch.column(i).as_ref(), c.json, row) {
                    insert_path(&mut m, &c.name, v);
                }
            }
            ev.observe(&Value::Object(m));
        }
    }
    Ok(rows)
}

/// The stage function: packs, ground truth and the normalized store in; `criteria/` out.
pub fn run(ctx: &mut StageContext<'_>) -> Result<StageSuccess, StageFailure> {
    let range = ctx.range()?;
    let packs = load_packs(&ctx.range_base_dir(), &range.validation.criteria_packs)?;
    let gt_path = ctx.input("ground_truth.jsonl").map_err(|f| {
        StageFailure::from(ValidateError::GroundTruthMissing { message: f.message })
    })?;
    let actions = read_ground_truth(&gt_path)?;
    let schema = ctx.input("normalized/ocsf_events/_schema.json")?;
    let store_dir = schema
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| StageFailure::new(CommonReason::InputMissing, "normalized store"))?;
    let out = evaluate(&actions, &packs, defaults(&range), |ev| {
        read_store(&store_dir, ev)
    })?;
    ctx.staging
        .write_json("criteria/manifest.json", &out.manifest)?;
    ctx.staging
        .write("criteria/criteria.jsonl", out.criteria_jsonl.as_bytes())?;
    ctx.staging
        .write("criteria/results.jsonl", out.results_jsonl.as_bytes())?;

    let mut versions = BTreeMap::new();
    let join = |f: fn(&Pack) -> &str| packs.iter().map(f).collect::<Vec<_>>().join(",");
    versions.insert(
        "criteria_pack_id".into(),
        json!(join(|p| p.pack_id.as_str())),
    );
    versions.insert(
        "criteria_pack_version".into(),
        json!(join(|p| p.pack_version.as_str())),
    );
    versions.insert(
        "criteria_sha256".into(),
        json!(pa_canon::sha256_prefixed(out.criteria_jsonl.as_bytes())),
    );
    Ok(StageSuccess {
        summary: format!(
            "{} action(s): {} pass, {} fail, {} skipped ({} event(s) read, {} pack(s))",
            out.rows.len(),
            out.count("pass"),
            out.count("fail"),
            out.count("skipped"),
            out.events_read,
            packs.len()
        ),
        versions,
        ..Default::default()
    })
}
