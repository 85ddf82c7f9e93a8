//! Run comparison (SPEC §10): is the baseline comparable with this run (version pins), what
//! moved (deltas candidate − baseline), which techniques, rules and actions are newly missed or
//! newly detected, and whether that is a regression alert.
//!
//! Policy `pa.regression_comparability.v1`: a different `scenario_id` makes runs incomparable
//! (`pin_mismatch`), and so does a changed mapping pack or normalizer mapping profile
//! (`drift_disallowed_by_policy`) unless mapping drift is allowed; every other changed pin
//! (scenario version, pipeline, OCSF, rule set, criteria pack, the range file) is a warning: the
//! runs are compared and the change is reported (a changed rule set is what a detection-content
//! comparison is about). A pin one side lacks is a warning (`missing_baseline_pin`,
//! `missing_current_pin`); a pin neither has is `not_applicable`.

use crate::model::Summary;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The comparability policy id.
pub const POLICY: &str = "pa.regression_comparability.v1";

/// What a changed pin does to comparability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Warning,
    Incomparable,
    MappingDrift,
}

/// The pins compared, in report order, and what a change of each does.
const PINS: &[(&str, Effect)] = &[
    ("scenario_id", Effect::Incomparable),
    ("scenario_version", Effect::Warning),
    ("pipeline_version", Effect::Warning),
    ("ocsf_version", Effect::Warning),
    ("rule_set_id", Effect::Warning),
    ("rule_set_version", Effect::Warning),
    ("rule_set_sha256", Effect::Warning),
    ("mapping_pack_id", Effect::MappingDrift),
    ("mapping_pack_version", Effect::MappingDrift),
    ("mapping_pack_sha256", Effect::MappingDrift),
    ("mapping_profile_sha256", Effect::MappingDrift),
    ("criteria_pack_id", Effect::Warning),
    ("criteria_pack_version", Effect::Warning),
];

/// Alert thresholds (SPEC §10): metric, direction (−1: a drop alerts, +1: a rise alerts), size.
const ALERTS: &[(&str, f64, f64)] = &[
    ("technique_coverage_rate", -1.0, 0.05),
    ("detection_latency_p95_seconds", 1.0, 60.0),
    ("tier1_field_coverage_rate", -1.0, 0.05),
    ("missing_telemetry_count", 1.0, 2.0),
    ("bridge_gap_mapping_count", 1.0, 5.0),
];

/// The baseline a run was compared with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BaselineRef {
    /// The baseline bundle as given.
    pub run_dir: String,
    pub run_id: Option<String>,
    pub started_at_utc: Option<String>,
    /// `sha256:` of the baseline's `manifest.json` bytes.
    pub manifest_sha256: Option<String>,
}

/// Whether the two runs can be compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparability {
    /// `comparable`, `warning` (compared; some pin differs or is missing) or `indeterminate`
    /// (not compared).
    pub status: String,
    /// The first check code that set the status (`null` when comparable).
    pub reason_code: Option<String>,
    pub policy: &'static str,
    /// One sentence for people.
    pub message: String,
}

/// One pin compared.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub key: String,
    pub baseline: Option<String>,
    pub candidate: Option<String>,
    /// `match`, `pin_mismatch`, `drift_disallowed_by_policy`, `missing_baseline_pin`,
    /// `missing_current_pin` or `not_applicable`.
    pub reason_code: String,
    /// `none`, `warning` or `indeterminate`.
    pub effect: &'static str,
}

/// One metric compared.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    pub metric: String,
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    /// candidate − baseline (`null` when either is).
    pub delta: Option<f64>,
    /// The alert rule (`<= -0.05`), `null` for metrics that do not alert.
    pub alert_when: Option<String>,
    pub alerted: bool,
}

/// A technique whose outcome changed.
#[derive(Debug, Clone, Serialize)]
pub struct TechniqueChange {
    pub technique_id: String,
    pub name: String,
    /// Rules attributed to the technique in the run where it was detected.
    pub rules: Vec<String>,
    /// Gap categories of the technique in the run where it was missed.
    pub gap_categories: Vec<String>,
}

/// A rule whose attribution changed.
#[derive(Debug, Clone, Serialize)]
pub struct RuleChange {
    pub rule_id: String,
    pub rule_title: String,
    /// Techniques of the actions the rule was attributed to.
    pub technique_ids: Vec<String>,
}

/// What changed between the runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes {
    pub techniques_newly_missed: Vec<TechniqueChange>,
    pub techniques_newly_detected: Vec<TechniqueChange>,
    /// Attributed in the baseline, in no action of this run.
    pub rules_newly_missed: Vec<RuleChange>,
    /// Attributed in this run, in no action of the baseline.
    pub rules_newly_matched: Vec<RuleChange>,
    pub actions_newly_missed: Vec<String>,
    pub actions_newly_detected: Vec<String>,
}

/// `report.json`'s `regression` member.
#[derive(Debug, Clone, Serialize)]
pub struct Regression {
    pub baseline: BaselineRef,
    pub comparability: Comparability,
    pub comparability_checks: Vec<Check>,
    /// Empty when the runs are not comparable.
    pub deltas: Vec<Delta>,
    pub changes: Changes,
    pub regression_alerted: bool,
    pub alert_reasons: Vec<String>,
}

impl Regression {
    /// Whether the runs were compared (comparability is not indeterminate).
    pub fn compared(&self) -> bool {
        self.comparability.status != "indeterminate"
    }

    /// A comparison that could not happen: the baseline is missing or unreadable.
    pub fn failed(baseline: BaselineRef, reason_code: &str, message: String) -> Regression {
        Regression {
            baseline,
            comparability: Comparability {
                status: "indeterminate".into(),
                reason_code: Some(reason_code.into()),
                policy: POLICY,
                message,
            },
            comparability_checks: Vec::new(),
            deltas: Vec::new(),
            changes: Changes::default(),
            regression_alerted: false,
            alert_reasons: Vec::new(),
        }
    }
}

fn pin(versions: &Value, key: &str) -> Option<String> {
    match versions.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        v => Some(v.to_string()),
    }
}

fn checks(baseline: &Value, candidate: &Value, allow_mapping_drift: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let mut pins: Vec<(String, Option<String>, Option<String>, Effect)> = PINS
        .iter()
        .map(|(k, e)| {
            (
                k.to_string(),
                pin(&baseline["versions"], k),
                pin(&candidate["versions"], k),
                *e,
            )
        })
        .collect();
    pins.push((
        "inputs.range_yaml_sha256".into(),
        pin(&baseline["inputs"], "range_yaml_sha256"),
        pin(&candidate["inputs"], "range_yaml_sha256"),
        Effect::Warning,
    ));
    for (key, b, c, effect) in pins {
        let (code, eff) = match (&b, &c) {
            (None, None) => ("not_applicable", "none"),
            (None, Some(_)) => ("missing_baseline_pin", "warning"),
            (Some(_), None) => ("missing_current_pin", "warning"),
            (Some(x), Some(y)) if x == y => ("match", "none"),
            _ => match effect {
                Effect::Warning => ("pin_mismatch", "warning"),
                Effect::Incomparable => ("pin_mismatch", "indeterminate"),
                Effect::MappingDrift if allow_mapping_drift => ("pin_mismatch", "warning"),
                Effect::MappingDrift => ("drift_disallowed_by_policy", "indeterminate"),
            },
        };
        out.push(Check {
            key,
            baseline: b,
            candidate: c,
            reason_code: code.into(),
            effect: eff,
        });
    }
    out
}

fn round(v: f64, dp: i32) -> f64 {
    let f = 10f64.powi(dp);
    (v * f).round() / f
}

fn metric(s: &Summary, name: &str) -> Option<f64> {
    let m = &s.metrics;
    match name {
        "technique_coverage_rate" => m.technique_coverage_rate,
        "techniques_detected" => Some(m.techniques_detected as f64),
        "actions_detected" => Some(m.actions_detected as f64),
        "detection_latency_p50_seconds" => m.detection_latency_p50_seconds,
        "detection_latency_p95_seconds" => m.detection_latency_p95_seconds,
        "tier1_field_coverage_rate" => m.tier1_field_coverage_rate,
        "false_positive_detection_count" => Some(m.false_positive_detection_count as f64),
        "false_positive_detection_rate" => m.false_positive_detection_rate,
        other => other
            .strip_suffix("_count")
            .and_then(|g| m.gap_counts.get(g))
            .map(|n| *n as f64),
    }
}

fn deltas(b: &Summary, c: &Summary) -> Vec<Delta> {
    let mut names: Vec<String> = [
        "technique_coverage_rate",
        "techniques_detected",
        "actions_detected",
        "detection_latency_p50_seconds",
        "detection_latency_p95_seconds",
        "tier1_field_coverage_rate",
        "false_positive_detection_count",
        "false_positive_detection_rate",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend(
        crate::model::GAP_CATEGORIES
            .iter()
            .map(|g| format!("{g}_count")),
    );
    names
        .into_iter()
        .map(|name| {
            let (bv, cv) = (metric(b, &name), metric(c, &name));
            let dp = if name.ends_with("_seconds") { 3 } else { 4 };
            let delta = bv.zip(cv).map(|(x, y)| round(y - x, dp));
            let rule = ALERTS.iter().find(|(m, _, _)| *m == name);
            let alerted = match (rule, delta) {
                (Some((_, dir, size)), Some(d)) => d * dir >= size - 1e-9,
                _ => false,
            };
            Delta {
                alert_when: rule.map(|(_, dir, size)| {
                    if *dir < 0.0 {
                        format!("<= -{size}")
                    } else {
                        format!(">= +{size}")
                    }
                }),
                metric: name,
                baseline: bv,
                candidate: cv,
                delta,
                alerted,
            }
        })
        .collect()
}

fn rules_by_id(s: &Summary) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut m: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for a in &s.actions {
        for r in &a.rules_matched {
            let e = m
                .entry(r.rule_id.clone())
                .or_insert_with(|| (r.rule_title.clone(), BTreeSet::new()));
            e.1.insert(a.technique_id.clone());
        }
    }
    m
}

fn technique_rules(s: &Summary, technique: &str) -> Vec<String> {
    let set: BTreeSet<String> = s
        .actions
        .iter()
        .filter(|a| a.technique_id == technique)
        .flat_map(|a| a.rules_matched.iter().map(|r| r.rule_id.clone()))
        .collect();
    set.into_iter().collect()
}

fn changes(b: &Summary, c: &Summary) -> Changes {
    let tb: BTreeMap<&str, &crate::model::TechniqueRow> = b
        .techniques
        .iter()
        .map(|t| (t.technique_id.as_str(), t))
        .collect();
    let tc: BTreeMap<&str, &crate::model::TechniqueRow> = c
        .techniques
        .iter()
        .map(|t| (t.technique_id.as_str(), t))
        .collect();
    let mut out = Changes::default();
    for (id, t) in &tc {
        let Some(old) = tb.get(id) else { continue };
        let name = crate::attack::technique(id).name;
        if old.detected > 0 && t.executed > 0 && t.detected == 0 {
            out.techniques_newly_missed.push(TechniqueChange {
                technique_id: id.to_string(),
                name,
                rules: technique_rules(b, id),
                gap_categories: t.gap_categories.clone(),
            });
        } else if t.detected > 0 && old.executed > 0 && old.detected == 0 {
            out.techniques_newly_detected.push(TechniqueChange {
                technique_id: id.to_string(),
                name,
                rules: technique_rules(c, id),
                gap_categories: old.gap_categories.clone(),
            });
        }
    }
    let (rb, rc) = (rules_by_id(b), rules_by_id(c));
    let change = |(id, (title, techs)): (&String, &(String, BTreeSet<String>))| RuleChange {
        rule_id: id.clone(),
        rule_title: title.clone(),
        technique_ids: techs.iter().cloned().collect(),
    };
    out.rules_newly_missed = rb
        .iter()
        .filter(|(id, _)| !rc.contains_key(*id))
        .map(change)
        .collect();
    out.rules_newly_matched = rc
        .iter()
        .filter(|(id, _)| !rb.contains_key(*id))
        .map(change)
        .collect();
    let ab: BTreeMap<&str, &crate::model::ActionRow> = b
        .actions
        .iter()
        .map(|a| (a.action_id.as_str(), a))
        .collect();
    for a in &c.actions {
        let Some(old) = ab.get(a.action_id.as_str()) else {
            continue;
        };
        if old.detected && a.executed && !a.detected {
            out.actions_newly_missed.push(a.action_id.clone());
        } else if a.detected && old.executed && !old.detected {
            out.actions_newly_detected.push(a.action_id.clone());
        }
    }
    out.actions_newly_missed.sort();
    out.actions_newly_detected.sort();
    out
}

/// Compare `candidate` (its manifest as JSON and its summary) with `baseline`.
pub fn compare(
    baseline_ref: BaselineRef,
    baseline_manifest: &Value,
    baseline: &Summary,
    candidate_manifest: &Value,
    candidate: &Summary,
    allow_mapping_drift: bool,
) -> Regression {
    let checks = checks(baseline_manifest, candidate_manifest, allow_mapping_drift);
    let first = |effect: &str| checks.iter().find(|c| c.effect == effect);
    let comparability = if let Some(c) = first("indeterminate") {
        Comparability {
            status: "indeterminate".into(),
            reason_code: Some(c.reason_code.clone()),
            policy: POLICY,
            message: format!(
                "not comparable: {} differs ({} → {}){}",
                c.key,
                c.baseline.as_deref().unwrap_or("-"),
                c.candidate.as_deref().unwrap_or("-"),
                if c.reason_code == "drift_disallowed_by_policy" {
                    "; mapping drift is disallowed by default (--allow-mapping-drift)"
                } else {
                    ""
                }
            ),
        }
    } else if let Some(c) = first("warning") {
        let keys: Vec<&str> = checks
            .iter()
            .filter(|c| c.effect == "warning")
            .map(|c| c.key.as_str())
            .collect();
        Comparability {
            status: "warning".into(),
            reason_code: Some(c.reason_code.clone()),
            policy: POLICY,
            message: format!("compared; pins differ or are missing: {}", keys.join(", ")),
        }
    } else {
        Comparability {
            status: "comparable".into(),
            reason_code: None,
            policy: POLICY,
            message: "compared; every pin matches".into(),
        }
    };
    let mut r = Regression {
        baseline: baseline_ref,
        comparability,
        comparability_checks: checks,
        deltas: Vec::new(),
        changes: Changes::default(),
        regression_alerted: false,
        alert_reasons: Vec::new(),
    };
    if !r.compared() {
        return r;
    }
    r.deltas = deltas(baseline, candidate);
    r.changes = changes(baseline, candidate);
    for d in r.deltas.iter().filter(|d| d.alerted) {
        r.alert_reasons.push(format!(
            "{} {} by {} ({} → {}; alert when {})",
            d.metric,
            if d.delta.unwrap_or(0.0) < 0.0 {
                "fell"
            } else {
                "rose"
            },
            d.delta.map(|x| x.abs()).unwrap_or(0.0),
            fmt_opt(d.baseline),
            fmt_opt(d.candidate),
            d.alert_when.as_deref().unwrap_or("")
        ));
    }
    for t in &r.changes.techniques_newly_missed {
        r.alert_reasons
            .push(format!("technique {} newly missed", t.technique_id));
    }
    r.regression_alerted = !r.alert_reasons.is_empty();
    r
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

/// The comparison as text for a terminal.
pub fn to_text(r: &Regression, candidate_run_id: &str) -> String {
    let mut s = String::new();
    let b = &r.baseline;
    s.push_str(&format!(
        "baseline  {} ({})\ncandidate {candidate_run_id}\n",
        b.run_id.as_deref().unwrap_or("-"),
        b.run_dir
    ));
    s.push_str(&format!(
        "comparability: {}{} ({})\n",
        r.comparability.status,
        r.comparability
            .reason_code
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default(),
        r.comparability.message
    ));
    for c in r.comparability_checks.iter().filter(|c| c.effect != "none") {
        s.push_str(&format!(
            "  {:<26} {} → {}  ({}, {})\n",
            c.key,
            c.baseline.as_deref().unwrap_or("-"),
            c.candidate.as_deref().unwrap_or("-"),
            c.reason_code,
            c.effect
        ));
    }
    if !r.deltas.is_empty() {
        s.push_str("deltas (candidate − baseline):\n");
        for d in &r.deltas {
            if d.delta == Some(0.0) && !d.alerted {
                continue;
            }
            s.push_str(&format!(
                "  {:<32} {:>10} → {:<10} {:>+10}{}\n",
                d.metric,
                fmt_opt(d.baseline),
                fmt_opt(d.candidate),
                d.delta.unwrap_or(0.0),
                if d.alerted { "  ALERT" } else { "" }
            ));
        }
    }
    let list = |title: &str, items: Vec<String>, s: &mut String| {
        s.push_str(&format!(
            "{title}: {}\n",
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        ));
    };
    let ch = &r.changes;
    let tech = |v: &[TechniqueChange]| {
        v.iter()
            .map(|t| {
                if t.name.is_empty() {
                    t.technique_id.clone()
                } else {
                    format!("{} ({})", t.technique_id, t.name)
                }
            })
            .collect()
    };
    let rules = |v: &[RuleChange]| {
        v.iter()
            .map(|r| format!("{} ({})", r.rule_id, r.rule_title))
            .collect()
    };
    if r.compared() {
        list(
            "newly missed techniques",
            tech(&ch.techniques_newly_missed),
            &mut s,
        );
        list(
            "newly detected techniques",
            tech(&ch.techniques_newly_detected),
            &mut s,
        );
        list(
            "rules no longer attributed",
            rules(&ch.rules_newly_missed),
            &mut s,
        );
        list(
            "rules newly attributed",
            rules(&ch.rules_newly_matched),
            &mut s,
        );
    }
    if r.regression_alerted {
        s.push_str(&format!(
            "result: REGRESSION ({} alert(s)): {}\n",
            r.alert_reasons.len(),
            r.alert_reasons.join("; ")
        ));
    } else if r.compared() {
        s.push_str("result: no regression\n");
    } else {
        s.push_str("result: not compared\n");
    }
    s
}
