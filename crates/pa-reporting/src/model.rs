//! The documents reporting reads, as typed views: `scoring/summary.json` (contract
//! `scoring_summary`, validated before it is read), the ground-truth rows (only the members the
//! report shows), and the optional health documents kept as JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The gap categories in layer order (telemetry → normalization → bridge → detection).
pub const GAP_CATEGORIES: &[&str] = &pa_bundle::gaps::GAP_CATEGORIES;
pub use pa_bundle::gaps::{layer_of as gap_layer, ordinal as gap_ordinal};

/// `scoring/summary.json`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub scenario_id: String,
    pub scenario_version: String,
    pub thresholds: BTreeMap<String, f64>,
    pub metrics: Metrics,
    pub gates: Vec<Gate>,
    pub status_recommendation: String,
    pub actions: Vec<ActionRow>,
    pub techniques: Vec<TechniqueRow>,
    pub unattributed_detections: Vec<Unattributed>,
    pub rules: Rules,
}

/// The run's metrics.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Metrics {
    pub actions_total: u64,
    pub actions_executed: u64,
    pub actions_detected: u64,
    pub techniques_executed: u64,
    pub techniques_detected: u64,
    pub technique_coverage_rate: Option<f64>,
    pub detection_latency_p50_seconds: Option<f64>,
    pub detection_latency_p90_seconds: Option<f64>,
    pub detection_latency_p95_seconds: Option<f64>,
    pub detection_latency_max_seconds: Option<f64>,
    pub detections_total: u64,
    pub detections_attributed: u64,
    pub false_positive_detection_count: u64,
    pub false_positive_detection_rate: Option<f64>,
    pub tier1_field_coverage_rate: Option<f64>,
    pub events_total: u64,
    pub gap_counts: BTreeMap<String, u64>,
    pub gap_rates: BTreeMap<String, Option<f64>>,
}

/// One quality gate as scoring evaluated it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Gate {
    pub gate_id: String,
    pub threshold: f64,
    pub actual: Option<f64>,
    pub pass: Option<bool>,
    #[serde(default)]
    pub indeterminate_reason: Option<String>,
}

/// One action as scoring judged it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ActionRow {
    pub action_id: String,
    pub action_key: String,
    pub technique_id: String,
    pub engine: String,
    pub engine_test_id: String,
    pub target_asset_id: String,
    #[serde(default)]
    pub started_at_utc: Option<String>,
    #[serde(default)]
    pub ended_at_utc: Option<String>,
    pub executed: bool,
    pub execute_outcome: String,
    #[serde(default)]
    pub not_executed_reason: Option<String>,
    pub telemetry: Telemetry,
    pub detected: bool,
    pub attribution: Option<String>,
    pub first_detection_utc: Option<String>,
    pub latency_seconds: Option<f64>,
    pub rules_matched: Vec<RuleMatch>,
    pub gap: Option<Gap>,
    /// Detections in the action's own sessions by rules not tagged with its technique.
    #[serde(default)]
    pub collateral_detections: Option<u64>,
}

/// What telemetry showed around an action.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Telemetry {
    pub criteria_status: Option<String>,
    #[serde(default)]
    pub criteria_reason_code: Option<String>,
    pub events_in_window: u64,
    pub classes_in_window: BTreeMap<String, u64>,
    #[serde(default)]
    pub raw_records_in_window: Option<u64>,
}

/// A rule attributed to an action.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleMatch {
    pub rule_id: String,
    pub rule_title: String,
    pub attribution: String,
    pub first_seen_utc: String,
    pub detections: u64,
}

/// Why an executed action was not detected.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Gap {
    pub category: String,
    pub layer: String,
    pub summary: String,
    pub evidence: serde_json::Map<String, Value>,
    pub evidence_refs: Vec<EvidenceRef>,
}

/// A pointer into a bundle artifact.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EvidenceRef {
    pub artifact_path: String,
    pub selector: String,
}

/// One technique as scoring judged it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TechniqueRow {
    pub technique_id: String,
    pub actions: u64,
    pub executed: u64,
    pub detected: u64,
    pub fastest_latency_seconds: Option<f64>,
    pub gap_categories: Vec<String>,
    pub rules_tagged: u64,
    pub rules_executable: u64,
}

/// Detections attributed to no action (false positives).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Unattributed {
    pub rule_id: String,
    pub rule_title: String,
    pub first_seen_utc: String,
    pub technique_ids: Vec<String>,
    pub detections: u64,
}

/// The rule set's totals.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Rules {
    pub total: u64,
    pub executable: u64,
    pub non_executable: u64,
    pub non_executable_reason_counts: BTreeMap<String, u64>,
    pub matched: u64,
}

/// The members of a `ground_truth.jsonl` row the report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct GroundTruthRow {
    pub action_id: String,
    pub action_key: String,
    pub technique_id: String,
    pub target_asset_id: String,
    #[serde(default)]
    pub engine_test_id: Option<String>,
    #[serde(default)]
    pub timestamp_utc: Option<String>,
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub extensions: GtExtensions,
}

/// The lifecycle of a ground-truth action.
#[derive(Debug, Clone, Deserialize)]
pub struct Lifecycle {
    pub phases: Vec<Phase>,
}

/// One lifecycle phase.
#[derive(Debug, Clone, Deserialize)]
pub struct Phase {
    pub phase: String,
    pub phase_outcome: String,
    #[serde(default)]
    pub started_at_utc: Option<String>,
    #[serde(default)]
    pub ended_at_utc: Option<String>,
    #[serde(default)]
    pub reason_code: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i64>,
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
}

/// The extensions of a ground-truth row the report reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GtExtensions {
    #[serde(default)]
    pub atomic: Option<AtomicExt>,
}

/// The Atomic test an action ran.
#[derive(Debug, Clone, Deserialize)]
pub struct AtomicExt {
    #[serde(default)]
    pub test_name: Option<String>,
}
