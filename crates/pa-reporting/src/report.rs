//! `report/report.json` (contract `report`, SPEC §10): the run's status and why, the executive
//! summary, coverage per technique, latency, detection fidelity, every gap with its evidence,
//! the health of each layer, versions and the regression comparison.

use crate::analysis::{Analysis, Outcome, PHASES};
use crate::inputs::{self, Inputs};
use crate::regression::Regression;
use crate::thresholds::Thresholds;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Every artifact the report links to, when the bundle has it (report files always).
pub const ARTIFACTS: &[&str] = &[
    "manifest.json",
    "run_results.json",
    "logs/health.json",
    "ground_truth.jsonl",
    "logs/telemetry_validation.json",
    "normalized/mapping_coverage.json",
    "criteria/results.jsonl",
    "detections/detections.jsonl",
    "bridge/coverage.json",
    "scoring/summary.json",
];

/// Files every finished bundle has (the orchestrator writes the last two after reporting): always
/// listed, so that a report rendered inside the pipeline equals one rendered later.
pub const ALWAYS: &[&str] = &["manifest.json", "run_results.json", "logs/health.json"];

/// The report's own outputs (bundle-relative).
pub const OUTPUTS: &[&str] = &[
    "report/report.json",
    "report/thresholds.json",
    "report/run_timeline.md",
    "report/junit.xml",
    "report/attack_layer.json",
    "report/report.html",
];

/// The run's status from the outcomes of the stages before reporting (the manifest's own status
/// also counts reporting's previous outcome, which this run replaces).
pub fn pipeline_status(m: &pa_bundle::Manifest) -> pa_bundle::RunStatus {
    pa_bundle::derive_status(m.stage_outcomes.iter().filter(|o| {
        o.top_stage()
            .is_some_and(|s| s < pa_bundle::Stage::Reporting)
    }))
}

/// The window the actions ran in: (first start, last end, span in seconds). Taken from the
/// actions, not from the manifest's `ended_at_utc`, which the orchestrator writes after
/// reporting: the report does not depend on when it was rendered.
pub fn actions_window(analysis: &Analysis) -> (Option<String>, Option<String>, Option<f64>) {
    let first = analysis
        .actions
        .iter()
        .filter_map(|a| a.start_utc.clone())
        .min();
    let last = analysis
        .actions
        .iter()
        .filter_map(|a| a.end_utc.clone())
        .max();
    let span = match (&first, &last) {
        (Some(a), Some(b)) => {
            let a = pa_canon::parse_rfc3339_to_millis(a).ok();
            let b = pa_canon::parse_rfc3339_to_millis(b).ok();
            a.zip(b)
                .filter(|(a, b)| b >= a)
                .map(|(a, b)| (b - a) as f64 / 1000.0)
        }
        _ => None,
    };
    (first, last, span)
}

/// `evidence_refs[]` with their handling: `present` when the bundle holds the file, else
/// `absent`; plus a pointer to the gap in the summary itself.
pub fn evidence_refs(inputs: &Inputs, a: &crate::analysis::ActionView) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(i) = a.summary_index {
        out.push(json!({
            "artifact_path": inputs::SUMMARY,
            "selector": format!("json_pointer:/actions/{i}/gap"),
            "handling": "present",
        }));
    }
    for r in a
        .gap()
        .map(|g| g.evidence_refs.as_slice())
        .unwrap_or_default()
    {
        out.push(json!({
            "artifact_path": r.artifact_path,
            "selector": r.selector,
            "handling": if inputs.has(&r.artifact_path) { "present" } else { "absent" },
        }));
    }
    out
}

fn gaps(inputs: &Inputs, analysis: &Analysis) -> Value {
    let m = &inputs.summary.metrics;
    let mut by_category = Map::new();
    for c in crate::model::GAP_CATEGORIES {
        by_category.insert(
            c.to_string(),
            json!({
                "layer": crate::model::gap_layer(c),
                "count": m.gap_counts.get(*c).copied().unwrap_or(0),
                "rate": m.gap_rates.get(*c).copied().flatten(),
            }),
        );
    }
    let failures: Vec<Value> = analysis
        .gaps
        .iter()
        .map(|i| {
            let a = &analysis.actions[*i];
            let g = a.gap().expect("gaps index actions with a gap");
            json!({
                "action_id": a.action_id,
                "action_key": a.action_key,
                "technique_id": a.technique_id,
                "target_asset_id": a.target_asset_id,
                "category": g.category,
                "layer": g.layer,
                "summary": g.summary,
                "evidence": g.evidence,
                "evidence_refs": evidence_refs(inputs, a),
            })
        })
        .collect();
    json!({"by_category": by_category, "top_failures": failures})
}

fn per_source(inputs: &Inputs) -> Value {
    let Some(t) = &inputs.telemetry else {
        return json!([]);
    };
    let rows: Vec<Value> = t["sources"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            json!({
                "source_id": s["source_id"],
                "format": s["format"],
                "asset_id": s["asset_id"],
                "status": s["status"],
                "required": s["required"],
                "records_read": s["records_read"],
                "records_kept": s["records_kept"],
                "records_dropped": s["records_dropped"],
                "drop_reasons": s.get("drop_reasons").cloned().unwrap_or(json!({})),
                "source_types": s.get("source_types").cloned().unwrap_or(json!({})),
            })
        })
        .collect();
    Value::Array(rows)
}

fn bridge_health(inputs: &Inputs) -> Value {
    let r = &inputs.summary.rules;
    match &inputs.bridge_coverage {
        Some(b) => json!({
            "source": inputs::BRIDGE_COVERAGE,
            "total_rules": b["total_rules"],
            "executable_rules": b["executable_rules"],
            "non_executable_rules": b["non_executable_rules"],
            "non_executable_reason_counts": b["non_executable_reason_counts"],
            "matched_rules": b["matched_rules"],
            "fallback_used_rules": b["fallback_used_rules"],
            "top_unmapped_fields": b["top_unmapped_fields"],
        }),
        None => json!({
            "source": inputs::SUMMARY,
            "total_rules": r.total,
            "executable_rules": r.executable,
            "non_executable_rules": r.non_executable,
            "non_executable_reason_counts": r.non_executable_reason_counts,
            "matched_rules": r.matched,
            "fallback_used_rules": null,
            "top_unmapped_fields": [],
        }),
    }
}

fn count_by(values: impl Iterator<Item = String>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for v in values {
        *m.entry(v).or_default() += 1;
    }
    m
}

fn criteria(inputs: &Inputs) -> Value {
    let from_summary = count_by(
        inputs
            .summary
            .actions
            .iter()
            .filter_map(|a| a.telemetry.criteria_status.clone()),
    );
    match &inputs.criteria {
        Some(rows) => json!({
            "available": true,
            "source": inputs::CRITERIA_RESULTS,
            "results_total": rows.len(),
            "by_status": count_by(rows.iter().map(|r| {
                r.get("status").and_then(Value::as_str).unwrap_or("unknown").to_string()
            })),
            "actions_by_criteria_status": from_summary,
        }),
        None => json!({
            "available": false,
            "source": null,
            "results_total": 0,
            "by_status": {},
            "actions_by_criteria_status": from_summary,
        }),
    }
}

fn event_volume(inputs: &Inputs) -> Value {
    // The 20 most frequent event types of a coverage list (count descending, then name).
    let top = |list: &Value| -> Vec<Value> {
        let mut types: Vec<Value> = list.as_array().cloned().unwrap_or_default();
        types.sort_by(|a, b| {
            let k = |v: &Value| {
                (
                    std::cmp::Reverse(v["count"].as_u64().unwrap_or(0)),
                    v["event_type"].as_str().unwrap_or("").to_string(),
                )
            };
            k(a).cmp(&k(b))
        });
        types.truncate(20);
        types
    };
    let normalization = inputs.mapping_coverage.as_ref().map(|c| {
        json!({
            "source": inputs::MAPPING_COVERAGE,
            "events_total": c["events_total"],
            "events_mapped": c["events_mapped"],
            "events_fallback": c.get("events_fallback").cloned().unwrap_or(Value::Null),
            "events_unmapped": c["events_unmapped"],
            "events_failed": c["events_failed"],
            "mapped_pct": c["mapped_pct"],
            "top_unmapped_event_types": top(&c["unknown_event_types"]),
            "top_fallback_event_types": top(&c["fallback_event_types"]),
            "classes": c["classes"],
        })
    });
    let totals = inputs.telemetry.as_ref().map(|t| t["totals"].clone());
    json!({
        "events_total": inputs.summary.metrics.events_total,
        "telemetry_records": totals,
        "normalization": normalization,
    })
}

fn cleanup(analysis: &Analysis) -> Value {
    let by = |phase: usize| {
        count_by(
            analysis
                .actions
                .iter()
                .filter_map(|a| a.phases[phase].as_ref().map(|p| p.outcome.clone())),
        )
    };
    json!({
        "revert_by_outcome": by(2),
        "teardown_by_outcome": by(3),
        "actions_with_cleanup": analysis.actions.iter().filter(|a| a.phases[2].is_some() || a.phases[3].is_some()).count(),
    })
}

fn coverage(inputs: &Inputs, analysis: &Analysis) -> Value {
    let m = &inputs.summary.metrics;
    let techniques: Vec<Value> = analysis
        .techniques
        .iter()
        .map(|t| {
            json!({
                "technique_id": t.technique_id,
                "name": t.name,
                "tactics": t.tactics,
                "actions": t.actions,
                "executed": t.executed,
                "detected": t.detected,
                "outcome": t.outcome.key(),
                "outcome_class": t.outcome.class(),
                "fastest_latency_seconds": t.fastest_latency_seconds,
                "gap_categories": t.gap_categories,
                "rules_tagged": t.rules_tagged,
                "rules_executable": t.rules_executable,
                "rules_matched": t.rules.keys().collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "technique_coverage_rate": m.technique_coverage_rate,
        "techniques_executed": m.techniques_executed,
        "techniques_detected": m.techniques_detected,
        "actions_executed": m.actions_executed,
        "actions_detected": m.actions_detected,
        "techniques": techniques,
    })
}

fn latency(inputs: &Inputs, analysis: &Analysis) -> Value {
    let m = &inputs.summary.metrics;
    let by_action: Vec<Value> = analysis
        .actions
        .iter()
        .filter_map(|a| {
            let r = a.row.as_ref()?;
            r.latency_seconds.map(|l| {
                json!({"action_id": a.action_id, "technique_id": a.technique_id,
                       "latency_seconds": l, "attribution": r.attribution})
            })
        })
        .collect();
    json!({
        "p50_seconds": m.detection_latency_p50_seconds,
        "p90_seconds": m.detection_latency_p90_seconds,
        "p95_seconds": m.detection_latency_p95_seconds,
        "max_seconds": m.detection_latency_max_seconds,
        "threshold_seconds": inputs.summary.thresholds.get("max_allowed_latency_seconds"),
        "actions_with_latency": by_action.len(),
        "by_action": by_action,
    })
}

fn fidelity(inputs: &Inputs) -> Value {
    let s = &inputs.summary;
    let attribution = count_by(s.actions.iter().filter_map(|a| a.attribution.clone()));
    json!({
        "detections_total": s.metrics.detections_total,
        "detections_attributed": s.metrics.detections_attributed,
        "attribution_counts": attribution,
        "false_positive_detection_count": s.metrics.false_positive_detection_count,
        "false_positive_detection_rate": s.metrics.false_positive_detection_rate,
        "collateral_detections": s.actions.iter().filter_map(|a| a.collateral_detections).sum::<u64>(),
        "unattributed_detections": s.unattributed_detections,
    })
}

fn status_reasons(t: &Thresholds, regression: Option<&Regression>) -> Vec<Value> {
    let mut out: Vec<Value> = t
        .failed()
        .filter(|g| g.gate_id != crate::thresholds::REGRESSION_GATE)
        .map(|g| {
            json!({"code": "gate_failed", "gate_id": g.gate_id,
                   "message": g.degradation_reason.clone().unwrap_or_default()})
        })
        .collect();
    if let Some(r) = regression.filter(|r| r.regression_alerted) {
        for reason in &r.alert_reasons {
            out.push(json!({"code": "regression_alert", "gate_id": crate::thresholds::REGRESSION_GATE, "message": reason}));
        }
    }
    out
}

/// Build `report.json`.
pub fn build(
    inputs: &Inputs,
    analysis: &Analysis,
    thresholds: &Thresholds,
    regression: Option<&Regression>,
    generated_at: &str,
) -> Value {
    let s = &inputs.summary;
    let m = &inputs.manifest;
    let executed = analysis.actions.iter().filter(|a| a.executed()).count();
    let window = actions_window(analysis);
    let not_executed = count_by(
        analysis
            .actions
            .iter()
            .filter(|a| a.outcome == Outcome::NotExecuted)
            .map(|a| {
                a.row
                    .as_ref()
                    .and_then(|r| {
                        r.not_executed_reason
                            .clone()
                            .or(Some(r.execute_outcome.clone()))
                    })
                    .unwrap_or_else(|| "not_scored".into())
            }),
    );
    let mut artifacts: Vec<&str> = ARTIFACTS
        .iter()
        .copied()
        .filter(|p| ALWAYS.contains(p) || inputs.has(p))
        .collect();
    artifacts.extend(OUTPUTS);
    json!({
        "contract_version": pa_bundle::CONTRACT_VERSION,
        "run_id": s.run_id,
        "generated_at_utc": generated_at,
        "status": thresholds.status_recommendation,
        "status_reasons": status_reasons(thresholds, regression),
        "executive_summary": {
            "scenario_id": s.scenario_id,
            "scenario_version": s.scenario_version,
            "run_status": pipeline_status(m).as_str(),
            "started_at_utc": m.started_at_utc,
            "actions_started_at_utc": window.0,
            "actions_ended_at_utc": window.1,
            "duration_seconds": window.2,
            "target_count": m.targets.len(),
            "actions_total": s.metrics.actions_total,
            "actions_executed": s.metrics.actions_executed,
            "actions_detected": s.metrics.actions_detected,
            "techniques_executed": s.metrics.techniques_executed,
            "techniques_covered": s.metrics.techniques_detected,
            "coverage_pct": s.metrics.technique_coverage_rate,
            "gaps_total": analysis.gaps.len(),
        },
        "plan": {
            "actions_total": analysis.actions.len(),
            "actions_executed": executed,
            "actions_not_executed": analysis.actions.len() - executed,
            "not_executed_reasons": not_executed,
            "phases": PHASES,
            "targets": m.targets.iter().map(|t| t.asset_id.clone()).collect::<Vec<_>>(),
        },
        "coverage": coverage(inputs, analysis),
        "latency": latency(inputs, analysis),
        "fidelity": fidelity(inputs),
        "gaps": gaps(inputs, analysis),
        "tier1_coverage": {
            "tier1_field_coverage_rate": s.metrics.tier1_field_coverage_rate,
            "threshold": s.thresholds.get("min_tier1_field_coverage"),
        },
        "per_source": per_source(inputs),
        "bridge_health": bridge_health(inputs),
        "criteria_evaluation": criteria(inputs),
        "cleanup_verification": cleanup(analysis),
        "event_volume": event_volume(inputs),
        "versions": m.versions,
        "regression": regression,
        "extensions": {
            "defense_outcomes": null,
            "artifacts": artifacts,
        },
    })
}
