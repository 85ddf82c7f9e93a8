//! `scoring/summary.json` (contract `scoring_summary`) as types.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub use pa_bundle::gaps::{GAP_CATEGORIES, layer_of};

/// The whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub contract_version: String,
    pub run_id: String,
    pub scenario_id: String,
    pub scenario_version: String,
    /// Volatile.
    pub generated_at_utc: String,
    pub thresholds: ThresholdValues,
    pub metrics: Metrics,
    pub gates: Vec<Gate>,
    /// `success` or `partial`.
    pub status_recommendation: String,
    pub actions: Vec<ActionScore>,
    pub techniques: Vec<TechniqueScore>,
    pub unattributed_detections: Vec<Unattributed>,
    pub rules: RuleCounts,
    /// `sha256:` of each input artifact read (`None`: absent).
    pub inputs: BTreeMap<String, Option<String>>,
}

/// The thresholds in force (configured, else SPEC §9 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdValues {
    pub min_technique_coverage: f64,
    pub max_allowed_latency_seconds: f64,
    pub min_tier1_field_coverage: f64,
    pub max_missing_telemetry_rate: f64,
    pub max_unmapped_event_type_rate: f64,
    pub max_bridge_gap_mapping_rate: f64,
    pub max_bridge_gap_feature_rate: f64,
    pub max_bridge_gap_other_rate: f64,
    pub max_false_positive_detection_rate: f64,
    pub max_false_positive_detection_count: f64,
    pub clock_skew_tolerance_seconds: f64,
}

impl ThresholdValues {
    /// Configured values over the SPEC §9 defaults.
    pub fn from_config(c: &pa_config::Scoring) -> ThresholdValues {
        let t = &c.thresholds;
        ThresholdValues {
            min_technique_coverage: t.min_technique_coverage.unwrap_or(0.75),
            max_allowed_latency_seconds: t.max_allowed_latency_seconds.unwrap_or(300.0),
            min_tier1_field_coverage: t.min_tier1_field_coverage.unwrap_or(0.80),
            max_missing_telemetry_rate: t.max_missing_telemetry_rate.unwrap_or(0.10),
            max_unmapped_event_type_rate: t.max_unmapped_event_type_rate.unwrap_or(0.05),
            max_bridge_gap_mapping_rate: t.max_bridge_gap_mapping_rate.unwrap_or(0.10),
            max_bridge_gap_feature_rate: t.max_bridge_gap_feature_rate.unwrap_or(0.40),
            max_bridge_gap_other_rate: t.max_bridge_gap_other_rate.unwrap_or(0.02),
            max_false_positive_detection_rate: t.max_false_positive_detection_rate.unwrap_or(0.05),
            max_false_positive_detection_count: t
                .max_false_positive_detection_count
                .unwrap_or(10.0),
            clock_skew_tolerance_seconds: c.clock_skew_tolerance_seconds.unwrap_or(30.0),
        }
    }
}

/// One value per gap category.
pub type PerGap<T> = BTreeMap<String, T>;

/// Run-level metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub gap_counts: PerGap<u64>,
    pub gap_rates: PerGap<Option<f64>>,
}

/// One threshold gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    pub gate_id: String,
    pub threshold: f64,
    pub actual: Option<f64>,
    /// `None`: not applicable (no denominator).
    pub pass: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indeterminate_reason: Option<String>,
}

/// An action's telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// The validation verdict (`None`: no criteria results).
    pub criteria_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criteria_reason_code: Option<String>,
    /// Normalized events of the action (its tagged sessions, else its time window).
    pub events_in_window: u64,
    /// Those events by class uid.
    pub classes_in_window: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
}

/// A time window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub start_time_utc: String,
    pub end_time_utc: String,
}

/// A rule that detected an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    pub rule_id: String,
    pub rule_title: String,
    pub attribution: String,
    pub first_seen_utc: String,
    pub detections: u64,
}

/// Why an executed action was not detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    pub category: String,
    pub layer: String,
    pub summary: String,
    pub evidence: Value,
    pub evidence_refs: Vec<EvidenceRef>,
}

/// Where evidence is in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRef {
    pub artifact_path: String,
    /// `json_pointer:/x/y`, `jsonl_line:N`, or `jsonl_line:N#/x/y` (a member of line N).
    pub selector: String,
}

/// One action's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionScore {
    pub action_id: String,
    pub action_key: String,
    pub technique_id: String,
    pub engine: String,
    pub engine_test_id: String,
    pub target_asset_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_utc: Option<String>,
    pub executed: bool,
    /// `success`, `failed`, `skipped` or `absent`.
    pub execute_outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_executed_reason: Option<String>,
    pub telemetry: Telemetry,
    pub detected: bool,
    pub attribution: Option<String>,
    pub first_detection_utc: Option<String>,
    pub latency_seconds: Option<f64>,
    pub rules_matched: Vec<RuleMatch>,
    /// Detections in the action's own sessions by rules not tagged with its technique (caused
    /// by the action, e.g. its cleanup; not false positives, not detections of the technique).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub collateral_detections: u64,
    pub gap: Option<Gap>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One technique's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TechniqueScore {
    pub technique_id: String,
    pub actions: u64,
    pub executed: u64,
    pub detected: u64,
    pub fastest_latency_seconds: Option<f64>,
    pub gap_categories: Vec<String>,
    pub rules_tagged: u64,
    pub rules_executable: u64,
}

/// Detections no action explains, by rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unattributed {
    pub rule_id: String,
    pub rule_title: String,
    pub first_seen_utc: String,
    pub technique_ids: Vec<String>,
    pub detections: u64,
}

/// The rule set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCounts {
    pub total: u64,
    pub executable: u64,
    pub non_executable: u64,
    pub non_executable_reason_counts: BTreeMap<String, u64>,
    pub matched: u64,
}

/// A rate in [0, 1], 4 decimals half-up; `None` on a zero denominator.
pub fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| round(num as f64 / den as f64, 4))
}

/// Round half-up to `dp` decimals.
pub fn round(x: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    (x * f + 0.5).floor() / f
}
