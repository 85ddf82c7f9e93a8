//! `detections/detections.jsonl`: one detection instance per (rule, matched event) (SPEC §8),
//! written by the detection stage and read by the stages after it.

use serde::{Deserialize, Serialize};

/// One detection instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionInstance {
    /// The rule (its Sigma `id`, else a digest-derived id).
    pub rule_id: String,
    /// The rule title.
    pub rule_title: String,
    /// Where the rule comes from (`sigma`).
    pub rule_source: String,
    /// The Sigma `level`, when the rule has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_level: Option<String>,
    /// ATT&CK technique ids from the rule's tags.
    pub technique_ids: Vec<String>,
    /// `metadata.uid` of the matched events (one per instance today).
    pub matched_event_ids: Vec<String>,
    /// Time of the first matched event (RFC 3339, ms), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen_utc: Option<String>,
    /// Time of the last matched event (RFC 3339, ms), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_utc: Option<String>,
    /// The run (bundle mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The scenario (bundle mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_id: Option<String>,
    /// A correlation rule's result: what it grouped by, its window and the events that
    /// formed it (absent for a detection rule's instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationDetails>,
    /// Provenance of the rule and its route.
    pub extensions: InstanceExtensions,
}

/// The `correlation` of a [`DetectionInstance`] produced by a Sigma correlation rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationDetails {
    /// `event_count`, `value_count`, `temporal`, `temporal_ordered`, `value_sum`, `value_avg`
    /// or `value_percentile`.
    pub correlation_type: String,
    /// The `group-by` values of the result, in the rule's order.
    pub group_by: Vec<GroupValue>,
    /// Time of the first event of the result (RFC 3339, ms).
    pub window_start_utc: String,
    /// Time of the last event of the result.
    pub window_end_utc: String,
    /// The value the condition held on: a count, distinct count, sum, average or percent.
    pub aggregate: serde_json::Number,
    /// The events that formed the result, in event order, each with the detection rule it
    /// matched (a chained correlation lists the events of the results it is built on).
    pub events: Vec<CorrelatedEvent>,
}

/// One `group-by` value of a correlation result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupValue {
    /// The `group-by` entry (a field or alias name).
    pub field: String,
    /// Its value.
    pub value: String,
}

/// One event of a correlation result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelatedEvent {
    /// The event (`metadata.uid`).
    pub event_id: String,
    /// The detection rule it matched.
    pub rule_id: String,
    /// Its time (RFC 3339, ms).
    pub time_utc: String,
}

impl DetectionInstance {
    /// The order of `detections.jsonl`: rule, first seen, last seen, then the matched event
    /// ids as their JSON text (the order the file has always had).
    pub fn sort_key(&self) -> (String, String, String, String) {
        (
            self.rule_id.clone(),
            self.first_seen_utc.clone().unwrap_or_default(),
            self.last_seen_utc.clone().unwrap_or_default(),
            serde_json::to_string(&self.matched_event_ids).unwrap_or_default(),
        )
    }
}

/// The `extensions` of a [`DetectionInstance`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceExtensions {
    /// The rule file.
    pub sigma: SigmaProvenance,
    /// The bridge route (OCSF field mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<BridgeProvenance>,
}

/// Which rule file produced a detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigmaProvenance {
    /// The rule file as loaded.
    pub rule_file: String,
    /// 1-based line of the rule's document.
    pub rule_line: u64,
    /// `sha256:` of the rule file's normalized bytes.
    pub rule_sha256: String,
}

/// Which bridge route a detection went through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeProvenance {
    /// The route.
    pub route_id: String,
    /// The matched event's class, when it has one.
    pub class_uid: Option<i64>,
}
