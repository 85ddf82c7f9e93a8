//! `scoring:` section of `range.yaml`: thresholds of the judgement.

use serde::{Deserialize, Serialize};

/// `scoring.thresholds:` (SPEC §9 defaults when absent). A violated threshold makes the run
/// `partial`, never `failed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_technique_coverage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_allowed_latency_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tier1_field_coverage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_missing_telemetry_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unmapped_event_type_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bridge_gap_mapping_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bridge_gap_feature_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bridge_gap_other_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_false_positive_detection_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_false_positive_detection_count: Option<f64>,
}

/// `scoring:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scoring {
    #[serde(default)]
    pub thresholds: Thresholds,
    /// How far before an action's start a detection may be and still be attributed to it
    /// (clock skew between hosts; default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_tolerance_seconds: Option<f64>,
}
