//! `bridge/coverage.json`: counts over the rules a detection run compiled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What happened to one rule, as the coverage accumulator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOutcome {
    routed: bool,
    non_executable_reason: Option<String>,
    matched: bool,
    fallback_used: bool,
    unmapped_fields: Vec<String>,
}

impl RuleOutcome {
    /// An executable rule (therefore routed). `matched`: it produced at least one detection.
    pub fn executable(matched: bool, fallback_used: bool) -> Self {
        RuleOutcome {
            routed: true,
            non_executable_reason: None,
            matched,
            fallback_used,
            unmapped_fields: Vec::new(),
        }
    }

    /// A non-executable rule with its one reason code (e.g. `unroutable_logsource`,
    /// `unmapped_field`, `unsupported_modifier`). `routed` says whether routing succeeded.
    pub fn non_executable(routed: bool, reason_code: impl Into<String>) -> Self {
        RuleOutcome {
            routed,
            non_executable_reason: Some(reason_code.into()),
            matched: false,
            fallback_used: false,
            unmapped_fields: Vec::new(),
        }
    }

    /// Record that the rule used the fallback policy for at least one field.
    pub fn with_fallback_used(mut self, used: bool) -> Self {
        self.fallback_used = used;
        self
    }

    /// Record the Sigma fields of the rule that could not be resolved.
    pub fn with_unmapped_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.unmapped_fields = fields.into_iter().map(Into::into).collect();
        self.unmapped_fields.sort();
        self.unmapped_fields.dedup();
        self
    }
}

/// One entry of `top_unmapped_fields`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnmappedFieldCount {
    /// The Sigma field name.
    pub field: String,
    /// Number of rules that reference it without resolution.
    pub rules: u64,
}

/// The `bridge/coverage.json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeCoverage {
    /// All rules loaded.
    pub total_rules: u64,
    /// Rules whose logsource routed.
    pub routed_rules: u64,
    /// Rules compiled to an executable plan.
    pub executable_rules: u64,
    /// Rules not executable (= Σ `non_executable_reason_counts`).
    pub non_executable_rules: u64,
    /// Executable rules with at least one detection.
    pub matched_rules: u64,
    /// Rules that used the fallback policy for at least one field.
    pub fallback_used_rules: u64,
    /// Reason code → number of rules.
    pub non_executable_reason_counts: BTreeMap<String, u64>,
    /// Most frequent unresolved Sigma fields (by rules desc, then field asc).
    pub top_unmapped_fields: Vec<UnmappedFieldCount>,
    /// Rule files or documents that did not load (added by the detection stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_issues: Option<Vec<CoverageLoadIssue>>,
    /// Events the rules were evaluated over (added by the detection stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_evaluated: Option<u64>,
    /// Detection instances written (added by the detection stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detections_total: Option<u64>,
}

/// A rule file or document that did not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoverageLoadIssue {
    /// The file.
    pub file: String,
    /// 1-based line (0 when not tied to one).
    pub line: u64,
    /// The reason code.
    pub reason_code: String,
    /// What is wrong.
    pub message: String,
}

impl BridgeCoverage {
    /// The RFC 8785 bytes to write as `bridge/coverage.json` (no trailing newline).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, crate::error::DocumentError> {
        let v = serde_json::to_value(self).map_err(|e| crate::error::DocumentError::Canonical {
            what: "bridge_coverage",
            message: e.to_string(),
        })?;
        crate::documents::canonical_bytes("bridge_coverage", &v)
    }
}

/// Accumulates [`RuleOutcome`]s into a [`BridgeCoverage`].
#[derive(Debug, Clone, Default)]
pub struct CoverageAccumulator {
    total: u64,
    routed: u64,
    executable: u64,
    matched: u64,
    fallback_used: u64,
    reasons: BTreeMap<String, u64>,
    unmapped: BTreeMap<String, u64>,
}

impl CoverageAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Count one rule.
    pub fn add(&mut self, o: &RuleOutcome) {
        self.total += 1;
        self.routed += u64::from(o.routed);
        match &o.non_executable_reason {
            None => {
                self.executable += 1;
                self.matched += u64::from(o.matched);
            }
            Some(r) => *self.reasons.entry(r.clone()).or_insert(0) += 1,
        }
        self.fallback_used += u64::from(o.fallback_used);
        for f in &o.unmapped_fields {
            *self.unmapped.entry(f.clone()).or_insert(0) += 1;
        }
    }

    /// The document, keeping the `top_n` most frequent unmapped fields.
    pub fn finish(&self, top_n: usize) -> BridgeCoverage {
        let mut top: Vec<UnmappedFieldCount> = self
            .unmapped
            .iter()
            .map(|(f, n)| UnmappedFieldCount {
                field: f.clone(),
                rules: *n,
            })
            .collect();
        top.sort_by(|a, b| b.rules.cmp(&a.rules).then_with(|| a.field.cmp(&b.field)));
        top.truncate(top_n);
        BridgeCoverage {
            total_rules: self.total,
            routed_rules: self.routed,
            executable_rules: self.executable,
            non_executable_rules: self.reasons.values().sum(),
            matched_rules: self.matched,
            fallback_used_rules: self.fallback_used,
            non_executable_reason_counts: self.reasons.clone(),
            top_unmapped_fields: top,
            load_issues: None,
            events_evaluated: None,
            detections_total: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_top_fields_are_ordered() {
        let mut acc = CoverageAccumulator::new();
        acc.add(&RuleOutcome::executable(true, false));
        acc.add(&RuleOutcome::executable(false, false).with_fallback_used(true));
        acc.add(&RuleOutcome::non_executable(false, "unroutable_logsource"));
        acc.add(
            &RuleOutcome::non_executable(true, "unmapped_field")
                .with_unmapped_fields(["B", "A", "B"]),
        );
        acc.add(&RuleOutcome::non_executable(true, "unmapped_field").with_unmapped_fields(["B"]));
        let c = acc.finish(10);
        assert_eq!(c.total_rules, 5);
        assert_eq!(c.routed_rules, 4);
        assert_eq!(c.executable_rules, 2);
        assert_eq!(c.non_executable_rules, 3);
        assert_eq!(c.executable_rules + c.non_executable_rules, c.total_rules);
        assert_eq!(c.matched_rules, 1);
        assert_eq!(c.fallback_used_rules, 1);
        assert_eq!(c.non_executable_reason_counts["unmapped_field"], 2);
        assert_eq!(
            c.top_unmapped_fields,
            vec![
                UnmappedFieldCount {
                    field: "B".into(),
                    rules: 2
                },
                UnmappedFieldCount {
                    field: "A".into(),
                    rules: 1
                },
            ]
        );
        assert_eq!(acc.finish(1).top_unmapped_fields.len(), 1);
        let bytes = c.canonical_bytes().expect("jcs");
        let text = String::from_utf8(bytes).expect("utf8");
        assert!(
            text.starts_with("{\"executable_rules\":2,\"fallback_used_rules\":1,"),
            "{text}"
        );
        assert!(!text.ends_with('\n'));
    }
}
