//! The gap of an executed action that was not detected: the first layer that lost it, with
//! its evidence.
//!
//! Precedence (deterministic): `missing_telemetry` (no event of the action at all, or its
//! criteria's expected signals absent while other mapped telemetry is there) →
//! `unmapped_event_type` (records arrived but the normalizer gave them no specific class: all
//! the action's events are Base Events, class 0 — the fallback of ADR-0013 — or unclassified;
//! the evidence names mapping_coverage's unrouted and fallback event types) → `bridge_gap_mapping` /
//! `bridge_gap_feature` / `bridge_gap_other` (rules tagged with the technique exist but none is
//! executable: by their reason codes) → `rule_logic_gap` (executable rules exist and none
//! matched, or no rule of the set is tagged with the technique).

use crate::load::EventFacts;
use crate::model::{Gap, layer_of};
use crate::score::{bridge_category, jsonl_ref, pointer_ref};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn gap(
    category: &str,
    summary: String,
    evidence: Value,
    refs: Vec<crate::model::EvidenceRef>,
) -> Gap {
    let mut refs = refs;
    refs.sort();
    refs.dedup();
    Gap {
        category: category.to_string(),
        layer: layer_of(category).to_string(),
        summary,
        evidence,
        evidence_refs: refs,
    }
}

/// References to (at most 20 of) the rules' compiled plans, at `pointer` of each plan:
/// `bridge/compiled_plans.jsonl` with selector `jsonl_line:N#<pointer>` (a member of line N),
/// or a legacy bundle's `bridge/compiled_plans/<rule_id>.plan.json` at `json_pointer:<pointer>`.
fn plan_refs(
    gt_ref: crate::model::EvidenceRef,
    rules: &[&Value],
    pointer: &str,
    plan_lines: &BTreeMap<String, usize>,
) -> Vec<crate::model::EvidenceRef> {
    std::iter::once(gt_ref)
        .chain(rules.iter().take(20).map(|p| {
            let id = p["rule_id"].as_str().unwrap_or_default();
            match plan_lines.get(id) {
                Some(line) => crate::model::EvidenceRef {
                    artifact_path: "bridge/compiled_plans.jsonl".into(),
                    selector: format!("jsonl_line:{line}#{pointer}"),
                },
                None => pointer_ref(&format!("bridge/compiled_plans/{id}.plan.json"), pointer),
            }
        }))
        .collect()
}

fn titles(rules: &[&Value], n: usize) -> Vec<String> {
    let mut t: Vec<String> = rules
        .iter()
        .map(|p| p["rule_title"].as_str().unwrap_or_default().to_string())
        .collect();
    t.sort();
    t.truncate(n);
    t
}

/// Classify one undetected action.
pub fn classify(
    gt_line: usize,
    criteria: Option<(usize, &Value)>,
    technique: &str,
    events: &[&EventFacts],
    tagged: &[&Value],
    mapping_coverage: Option<&Value>,
    plan_lines: &BTreeMap<String, usize>,
) -> Gap {
    let gt_ref = jsonl_ref("ground_truth.jsonl", gt_line);
    let crit_ref = criteria.map(|(l, _)| jsonl_ref("criteria/results.jsonl", l));
    let criteria_failed = criteria.is_some_and(|(_, c)| c["status"] == "fail");
    let mut classes: BTreeMap<i64, u64> = BTreeMap::new();
    let mut unclassified_codes: BTreeMap<String, u64> = BTreeMap::new();
    for e in events {
        let c = e.class_uid.unwrap_or(0);
        *classes.entry(c).or_default() += 1;
        if c == 0 {
            *unclassified_codes
                .entry(e.event_code.clone().unwrap_or_else(|| "unknown".into()))
                .or_default() += 1;
        }
    }
    let mapped: u64 = classes
        .iter()
        .filter(|(c, _)| **c != 0)
        .map(|(_, n)| *n)
        .sum();
    let class_text = |classes: &BTreeMap<i64, u64>| {
        classes
            .iter()
            .map(|(c, n)| format!("{n} of class {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };

    // 1. Telemetry.
    if events.is_empty() {
        let mut refs = vec![
            gt_ref.clone(),
            pointer_ref("logs/telemetry_validation.json", "/sources"),
        ];
        refs.extend(crit_ref.clone());
        return gap(
            "missing_telemetry",
            "no normalized event of this action arrived (its tagged sessions or its time window on its host hold none)".into(),
            json!({"events_in_window": 0, "criteria": criteria.map(|(_, c)| c["signals"].clone())}),
            refs,
        );
    }
    // 2. Normalization: nothing got a class.
    if mapped == 0 {
        let mut refs = vec![
            gt_ref.clone(),
            pointer_ref("normalized/mapping_coverage.json", "/unknown_event_types"),
        ];
        // the event types the normalizer kept as Base Events (ADR-0013), when it says so
        let fallback_types = mapping_coverage.and_then(|m| m.get("fallback_event_types"));
        if fallback_types.is_some() {
            refs.push(pointer_ref(
                "normalized/mapping_coverage.json",
                "/fallback_event_types",
            ));
        }
        refs.extend(crit_ref.clone());
        let top: Vec<String> = {
            let mut v: Vec<(&String, &u64)> = unclassified_codes.iter().collect();
            v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            v.into_iter()
                .take(10)
                .map(|(k, n)| format!("{k} ({n})"))
                .collect()
        };
        return gap(
            "unmapped_event_type",
            format!(
                "{} record(s) of this action arrived but the normalizer has no class for them: {}",
                events.len(),
                top.join(", ")
            ),
            json!({
                "events_in_window": events.len(),
                "unclassified_event_types": unclassified_codes,
                "unknown_event_types": mapping_coverage.map(|m| m["unknown_event_types"].clone()),
                "fallback_event_types": fallback_types,
            }),
            refs,
        );
    }
    // 1b. The expected signals are absent though other telemetry arrived.
    if criteria_failed {
        let (l, c) = criteria.expect("criteria_failed implies criteria");
        let missing: Vec<String> = c["signals"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["pass"] == false)
            .map(|s| s["signal_id"].as_str().unwrap_or_default().to_string())
            .collect();
        return gap(
            "missing_telemetry",
            format!(
                "the expected telemetry of this action is missing ({}); what arrived: {}",
                missing.join(", "),
                class_text(&classes)
            ),
            json!({"missing_signals": missing, "classes_in_window": classes, "criteria_ref": c["criteria_ref"].clone()}),
            vec![gt_ref, jsonl_ref("criteria/results.jsonl", l)],
        );
    }
    // 3. Bridge: rules exist, none runs.
    let executable: Vec<&Value> = tagged
        .iter()
        .copied()
        .filter(|p| p["executable"].as_bool() == Some(true))
        .collect();
    if !tagged.is_empty() && executable.is_empty() {
        let mut by_code: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in tagged {
            let code = p["non_executable_reason"]["reason_code"]
                .as_str()
                .unwrap_or("unknown")
                .to_string();
            by_code
                .entry(code)
                .or_default()
                .push(p["rule_id"].as_str().unwrap_or_default().to_string());
        }
        // The category of the most frequent reason (ties: mapping before feature before other).
        let mut cats: BTreeMap<&str, usize> = BTreeMap::new();
        for (code, ids) in &by_code {
            *cats.entry(bridge_category(code)).or_default() += ids.len();
        }
        let order = [
            "bridge_gap_mapping",
            "bridge_gap_feature",
            "bridge_gap_other",
        ];
        let category = order
            .iter()
            .copied()
            .max_by_key(|c| {
                (
                    cats.get(c).copied().unwrap_or(0),
                    std::cmp::Reverse(order.iter().position(|x| x == c)),
                )
            })
            .unwrap_or("bridge_gap_other");
        let refs = plan_refs(gt_ref, tagged, "/non_executable_reason", plan_lines);
        let codes: Vec<String> = by_code
            .iter()
            .map(|(c, ids)| format!("{c} ({})", ids.len()))
            .collect();
        return gap(
            category,
            format!(
                "{} event(s) of this action exist ({}); the {} rule(s) tagged {technique} cannot run: {}",
                events.len(),
                class_text(&classes),
                tagged.len(),
                codes.join(", ")
            ),
            json!({"rules_tagged": tagged.len(), "rules_executable": 0, "reasons": by_code, "rule_titles": titles(tagged, 10)}),
            refs,
        );
    }
    // 4. Detection logic.
    if tagged.is_empty() {
        return gap(
            "rule_logic_gap",
            format!(
                "{} event(s) of this action exist ({}); no rule of the rule set is tagged {technique}",
                events.len(),
                class_text(&classes)
            ),
            json!({"rules_tagged": 0, "classes_in_window": classes}),
            vec![gt_ref, pointer_ref("bridge/coverage.json", "/total_rules")],
        );
    }
    let read_classes: Vec<i64> = {
        let mut v: Vec<i64> = executable
            .iter()
            .flat_map(|p| {
                p["compilation"]["routed_scope"]["class_uids"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|c| c.as_i64())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let routed_refs = plan_refs(
        gt_ref.clone(),
        &executable,
        "/compilation/routed_scope",
        plan_lines,
    );
    // 3b. The executable rules read none of the classes this action's events are in: the
    // router sends them elsewhere.
    if !read_classes.iter().any(|c| classes.contains_key(c)) {
        return gap(
            "bridge_gap_mapping",
            format!(
                "{} event(s) of this action exist ({}); the {} executable rule(s) tagged {technique} read classes {:?}, none of these: their logsource is routed to other OCSF classes",
                events.len(),
                class_text(&classes),
                executable.len(),
                read_classes
            ),
            json!({
                "rules_tagged": tagged.len(),
                "rules_executable": executable.len(),
                "rule_classes": read_classes,
                "classes_in_window": classes,
                "rule_titles": titles(&executable, 10),
            }),
            routed_refs,
        );
    }
    let refs = plan_refs(gt_ref, &executable, "/condition", plan_lines);
    gap(
        "rule_logic_gap",
        format!(
            "{} event(s) of this action exist ({}); the {} rule(s) tagged {technique} are executable (reading classes {:?}) and none matched",
            events.len(),
            class_text(&classes),
            executable.len(),
            read_classes
        ),
        json!({
            "rules_tagged": tagged.len(),
            "rules_executable": executable.len(),
            "rule_classes": read_classes,
            "classes_in_window": classes,
            "rule_titles": titles(&executable, 10),
        }),
        refs,
    )
}
