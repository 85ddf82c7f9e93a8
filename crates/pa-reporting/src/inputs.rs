//! Reading a bundle's reporting inputs: `scoring/summary.json` (required, checked against its
//! contract), `manifest.json`, `ground_truth.jsonl`, and when present the health documents of
//! the earlier stages.

use crate::ReportError;
use crate::model::{GroundTruthRow, Summary};
use pa_bundle::Manifest;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The summary's path in a bundle.
pub const SUMMARY: &str = "scoring/summary.json";
/// The ground truth's path in a bundle.
pub const GROUND_TRUTH: &str = "ground_truth.jsonl";
/// Normalization's mapping coverage.
pub const MAPPING_COVERAGE: &str = "normalized/mapping_coverage.json";
/// Detection's bridge coverage.
pub const BRIDGE_COVERAGE: &str = "bridge/coverage.json";
/// Telemetry's ingestion accounting.
pub const TELEMETRY_VALIDATION: &str = "logs/telemetry_validation.json";
/// Validation's per-action results.
pub const CRITERIA_RESULTS: &str = "criteria/results.jsonl";

/// Everything reporting reads from one bundle.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The bundle directory.
    pub run_dir: PathBuf,
    /// `manifest.json`.
    pub manifest: Manifest,
    /// `scoring/summary.json`.
    pub summary: Summary,
    /// `ground_truth.jsonl`, in file order.
    pub ground_truth: Vec<GroundTruthRow>,
    /// `normalized/mapping_coverage.json`, when present.
    pub mapping_coverage: Option<Value>,
    /// `bridge/coverage.json`, when present.
    pub bridge_coverage: Option<Value>,
    /// `logs/telemetry_validation.json`, when present.
    pub telemetry: Option<Value>,
    /// `criteria/results.jsonl`, when present (one JSON object per line).
    pub criteria: Option<Vec<Value>>,
}

impl Inputs {
    /// Whether a bundle-relative path names a regular file of this bundle.
    pub fn has(&self, rel: &str) -> bool {
        has_file(&self.run_dir, rel)
    }
}

/// Whether `rel` is a valid bundle-relative path of a regular file (not a symlink) under `dir`.
pub fn has_file(dir: &Path, rel: &str) -> bool {
    pa_bundle::relpath::check(rel).is_ok()
        && std::fs::symlink_metadata(dir.join(rel)).is_ok_and(|m| m.is_file())
}

fn read(dir: &Path, rel: &str) -> Result<Option<Vec<u8>>, ReportError> {
    let p = dir.join(rel);
    match std::fs::read(&p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ReportError::Read { path: p, error }),
    }
}

fn json(dir: &Path, rel: &str) -> Result<Option<Value>, ReportError> {
    let Some(bytes) = read(dir, rel)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ReportError::InvalidInput {
            path: dir.join(rel),
            message: format!("not JSON: {e}"),
        })
}

fn jsonl(dir: &Path, rel: &str) -> Result<Option<Vec<Value>>, ReportError> {
    let Some(bytes) = read(dir, rel)? else {
        return Ok(None);
    };
    let mut rows = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        rows.push(
            serde_json::from_slice(line).map_err(|e| ReportError::InvalidInput {
                path: dir.join(rel),
                message: format!("line {}: not JSON: {e}", i + 1),
            })?,
        );
    }
    Ok(Some(rows))
}

/// Read and check a bundle's `scoring/summary.json` (missing → [`ReportError::InputMissing`]).
pub fn load_summary(dir: &Path) -> Result<Summary, ReportError> {
    let path = dir.join(SUMMARY);
    let v = json(dir, SUMMARY)?.ok_or_else(|| ReportError::InputMissing {
        path: path.clone(),
        what: "the scoring summary (run the scoring stage, pa-score, first)".into(),
    })?;
    let errs = pa_bundle::contracts::validate_value("scoring_summary", &v)?;
    if let Some(e) = errs.first() {
        return Err(ReportError::InvalidInput {
            path,
            message: format!(
                "not a valid scoring summary ({} contract error(s); first: {} {})",
                errs.len(),
                if e.instance_path.is_empty() {
                    "/"
                } else {
                    &e.instance_path
                },
                e.message
            ),
        });
    }
    serde_json::from_value(v).map_err(|e| ReportError::InvalidInput {
        path,
        message: e.to_string(),
    })
}

/// Read a bundle's `manifest.json`.
pub fn load_manifest(dir: &Path) -> Result<Manifest, ReportError> {
    let path = dir.join("manifest.json");
    let v = json(dir, "manifest.json")?.ok_or_else(|| ReportError::InputMissing {
        path: path.clone(),
        what: "the run manifest (is this a run bundle?)".into(),
    })?;
    serde_json::from_value(v).map_err(|e| ReportError::InvalidInput {
        path,
        message: e.to_string(),
    })
}

/// Read everything reporting uses from the bundle at `dir`, whose manifest is `manifest`.
pub fn load(dir: &Path, manifest: Manifest) -> Result<Inputs, ReportError> {
    let summary = load_summary(dir)?;
    let gt_path = dir.join(GROUND_TRUTH);
    let gt_bytes = read(dir, GROUND_TRUTH)?.ok_or_else(|| ReportError::InputMissing {
        path: gt_path.clone(),
        what: "the run's ground truth".into(),
    })?;
    let mut ground_truth = Vec::new();
    for (i, line) in gt_bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        ground_truth.push(serde_json::from_slice::<GroundTruthRow>(line).map_err(|e| {
            ReportError::InvalidInput {
                path: gt_path.clone(),
                message: format!("line {}: {e}", i + 1),
            }
        })?);
    }
    Ok(Inputs {
        run_dir: dir.to_path_buf(),
        manifest,
        summary,
        ground_truth,
        mapping_coverage: json(dir, MAPPING_COVERAGE)?,
        bridge_coverage: json(dir, BRIDGE_COVERAGE)?,
        telemetry: json(dir, TELEMETRY_VALIDATION)?,
        criteria: jsonl(dir, CRITERIA_RESULTS)?,
    })
}
