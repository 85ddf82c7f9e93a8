//! The typed documents `pa-detect check` and `pa-detect explain` print. Fields are declared in
//! the order the JSON output has always listed them (the pretty-printed output follows
//! declaration order when serde_json keeps insertion order, as it does in this workspace).

use serde::Serialize;
use std::collections::BTreeMap;

/// `pa-detect check`: per rule executable or its reason, load issues, totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSetCheck {
    /// The counts.
    pub totals: CheckTotals,
    /// One row per loaded rule, in load order.
    pub rules: Vec<RuleCheckRow>,
    /// Problems loading files (parse errors, unknown keys...).
    pub load_issues: Vec<LoadIssueRow>,
}

/// Counts of a [`RuleSetCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckTotals {
    /// Rules loaded.
    pub rules: usize,
    /// Rules that compiled for at least one class.
    pub executable: usize,
    /// Rules that cannot run.
    pub non_executable: usize,
    /// Load issues.
    pub load_issues: usize,
    /// Non-executable rules per reason code.
    pub reasons: BTreeMap<String, u64>,
}

/// One rule of a [`RuleSetCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCheckRow {
    /// The rule id.
    pub rule_id: String,
    /// The rule title.
    pub title: String,
    /// The rule file.
    pub file: String,
    /// 1-based line of the rule's document in the file.
    pub line: u64,
    /// Whether the rule runs.
    pub executable: bool,
    /// The bridge route the rule's logsource took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_id: Option<String>,
    /// The reason code when it does not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Why it does not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One load issue of a [`RuleSetCheck`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadIssueRow {
    /// The file.
    pub file: String,
    /// 1-based line (0 when not tied to one).
    pub line: u64,
    /// The reason code.
    pub reason_code: String,
    /// What is wrong.
    pub message: String,
}

/// `pa-detect explain`: how one rule judged one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExplainReport {
    /// The rule id.
    pub rule_id: String,
    /// The rule title.
    pub title: String,
    /// The route the rule took (OCSF mode).
    pub route: Option<RouteRef>,
    /// Whether the event is in the scope of the rule's route (OCSF mode; always true in Sigma
    /// field mode).
    pub event_in_route_scope: bool,
    /// Whether the rule fires on the event.
    pub fires: bool,
    /// The Sigma field → event path resolution used for the event's class.
    pub field_resolution: Vec<ResolvedField>,
    /// Per selection and value, what matched.
    pub explanation: pa_sigma::Explanation,
}

/// A route of an [`ExplainReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteRef {
    /// The route id.
    pub route_id: String,
    /// The OCSF classes the route selects.
    pub class_uids: Vec<u32>,
}

/// One resolved field of an [`ExplainReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedField {
    /// The field as the rule names it.
    pub sigma_field: String,
    /// The event path.
    pub path: String,
}
