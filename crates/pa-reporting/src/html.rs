//! `report/report.html`: one self-contained page (inline CSS and SVG, no script, no external
//! reference) rendered from the embedded template `templates/report.html` with minijinja, which
//! escapes every value taken from data (autoescape by the `.html` name). Only the SVG charts,
//! built here with their own escaping, are inserted as markup.

use crate::ReportError;
use crate::analysis::{ActionView, Analysis, Outcome};
use crate::inputs::Inputs;
use crate::layer::color;
use crate::regression::Regression;
use crate::svg;
use crate::thresholds::Thresholds;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("../templates/report.html");
const STYLE: &str = include_str!("../templates/style.css");

/// How many actions the latency chart draws one bar for; above that it draws the slowest ones.
pub const LATENCY_BARS: usize = 40;

/// A gap category for people.
pub fn gap_label(key: &str) -> &'static str {
    match key {
        "missing_telemetry" => "No telemetry",
        "unmapped_event_type" => "Unmapped event type",
        "bridge_gap_mapping" => "Bridge: mapping",
        "bridge_gap_feature" => "Bridge: unsupported feature",
        "bridge_gap_other" => "Bridge: other",
        "rule_logic_gap" => "Rule logic",
        "detected" => "Detected",
        "not_executed" => "Not executed",
        _ => "Not detected",
    }
}

fn outcome_label(o: &Outcome) -> String {
    match o {
        Outcome::Detected => "Detected".into(),
        Outcome::SeenNotDetected(c) => match c.as_deref() {
            Some("rule_logic_gap") => "Missed: rule logic".into(),
            Some("unmapped_event_type") => "Missed: unmapped event type".into(),
            Some("bridge_gap_mapping") => "Missed: bridge mapping".into(),
            Some("bridge_gap_feature") => "Missed: rule feature unsupported".into(),
            Some("bridge_gap_other") => "Missed: bridge (other)".into(),
            _ => "Missed".into(),
        },
        Outcome::NotSeen => "No telemetry".into(),
        Outcome::NotExecuted => "Not executed".into(),
    }
}

/// A fraction in [0, 1] as a percentage (`62.5%`), `-` when absent.
pub fn pct(v: Option<f64>) -> String {
    v.map(|f| format!("{}%", svg::num((f * 1000.0).round() / 10.0)))
        .unwrap_or_else(|| "-".into())
}

/// An integer with thousands separators (`12,345`).
pub fn count(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration for people: `42 s`, `3 min 20 s`, `5 h 07 min`, `2 d 7 h`.
pub fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..120 => format!("{} s", svg::num(secs)),
        120..7_200 => format!("{} min {} s", s / 60, s % 60),
        7_200..172_800 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

fn secs(v: Option<f64>) -> String {
    v.map(|s| format!("{} s", svg::num(s)))
        .unwrap_or_else(|| "-".into())
}

/// A bundle-relative path as a link from `report/`: only paths that pass the bundle path rules
/// and exist in the bundle get one; characters outside the unreserved set are percent-encoded,
/// so the link holds only `A-Z a-z 0-9 - . _ ~ / %` and the template inserts it as is.
fn href(inputs: &Inputs, rel: &str) -> Option<String> {
    if !inputs.has(rel)
        && !crate::report::OUTPUTS.contains(&rel)
        && !crate::report::ALWAYS.contains(&rel)
    {
        return None;
    }
    let mut out = String::from("../");
    for b in rel.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn matrix(analysis: &Analysis) -> (Vec<Value>, Vec<Value>) {
    let mut cols: BTreeMap<usize, (&'static str, Vec<Value>)> = BTreeMap::new();
    let mut legend: BTreeMap<String, (String, &'static str, usize)> = BTreeMap::new();
    for t in &analysis.techniques {
        let key = t.outcome.key().to_string();
        let e = legend
            .entry(format!("{:02}{key}", legend_rank(&t.outcome)))
            .or_insert((outcome_label(&t.outcome), color(&t.outcome), 0));
        e.2 += 1;
        for tac in &t.tactics {
            cols.entry(crate::attack::tactic_ordinal(tac))
                .or_insert((tac, Vec::new()))
                .1
                .push(json!({
                    "id": t.technique_id,
                    "name": t.name,
                    "label": outcome_label(&t.outcome),
                    "class": t.outcome.class(),
                    "color": color(&t.outcome),
                    "detail": format!("{} of {} executed action(s) detected{}", t.detected, t.executed,
                        if t.rules.is_empty() { String::new() } else {
                            format!("; rules: {}", t.rules.values().cloned().collect::<Vec<_>>().join(", "))
                        }),
                }));
        }
    }
    let cols = cols
        .into_values()
        .map(|(tac, cells)| json!({"name": crate::attack::tactic_name(tac), "count": cells.len(), "cells": cells}))
        .collect();
    let legend = legend
        .into_values()
        .map(|(label, color, count)| json!({"label": label, "color": color, "count": count}))
        .collect();
    (cols, legend)
}

fn legend_rank(o: &Outcome) -> usize {
    match o {
        Outcome::Detected => 0,
        Outcome::SeenNotDetected(c) => 1 + crate::model::gap_ordinal(c.as_deref().unwrap_or("")),
        Outcome::NotSeen => 20,
        Outcome::NotExecuted => 30,
    }
}

fn latency(inputs: &Inputs, analysis: &Analysis) -> Value {
    let m = &inputs.summary.metrics;
    let mut timed: Vec<&ActionView> = analysis
        .actions
        .iter()
        .filter(|a| a.row.as_ref().and_then(|r| r.latency_seconds).is_some())
        .collect();
    let lat = |a: &ActionView| {
        a.row
            .as_ref()
            .and_then(|r| r.latency_seconds)
            .unwrap_or(0.0)
    };
    let total = timed.len();
    let note = if total > LATENCY_BARS {
        timed.sort_by(|a, b| lat(b).total_cmp(&lat(a)).then(a.order.cmp(&b.order)));
        timed.truncate(LATENCY_BARS);
        format!("The {LATENCY_BARS} slowest of {total} detected actions, slowest first.")
    } else {
        format!("Every detected action ({total}), in run order.")
    };
    let threshold = inputs
        .summary
        .thresholds
        .get("max_allowed_latency_seconds")
        .copied();
    let bars: Vec<svg::Bar> = timed
        .iter()
        .map(|a| svg::Bar {
            label: format!("{} · {}", a.action_id, a.technique_id),
            value: lat(a),
            color: if threshold.is_some_and(|t| lat(a) > t) {
                "#c62828"
            } else {
                "#2e7d32"
            },
            title: format!(
                "{} ({}): first detection after {} s, attribution {}",
                a.action_id,
                a.technique_id,
                svg::num(lat(a)),
                a.row
                    .as_ref()
                    .and_then(|r| r.attribution.clone())
                    .unwrap_or_default()
            ),
        })
        .collect();
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let mut markers = Vec::new();
    if let Some(p) = m.detection_latency_p50_seconds {
        markers.push(svg::Marker {
            label: "p50".into(),
            value: p,
            color: "#1d4ed8",
        });
    }
    if let Some(p) = m.detection_latency_p95_seconds {
        markers.push(svg::Marker {
            label: "p95".into(),
            value: p,
            color: "#7c3aed",
        });
    }
    let mut threshold_note = String::new();
    if let Some(t) = threshold {
        if t <= max * 3.0 {
            markers.push(svg::Marker {
                label: "limit".into(),
                value: t,
                color: "#c62828",
            });
        } else {
            threshold_note = format!("The limit of {} s is off this scale.", svg::num(t));
        }
    }
    json!({
        "svg": if bars.is_empty() { String::new() } else { svg::hbars("Detection latency per action", &bars, &markers, " s") },
        "note": note,
        "threshold_note": threshold_note,
        "p50": secs(m.detection_latency_p50_seconds),
        "p90": secs(m.detection_latency_p90_seconds),
        "p95": secs(m.detection_latency_p95_seconds),
        "max": secs(m.detection_latency_max_seconds),
        "limit": secs(threshold),
    })
}

fn gaps(inputs: &Inputs, analysis: &Analysis) -> Vec<Value> {
    let mut groups: BTreeMap<usize, (String, Vec<Value>)> = BTreeMap::new();
    for i in &analysis.gaps {
        let a = &analysis.actions[*i];
        let Some(g) = a.gap() else { continue };
        let evidence: Vec<Value> = g
            .evidence
            .iter()
            .map(|(k, v)| {
                let text = value_text(v);
                json!({"key": k, "value": text, "long": text.chars().count() > 160,
                       "short": text.chars().take(120).collect::<String>()})
            })
            .collect();
        // The bundle's own documents first, per-rule compiled plans after them.
        let mut sorted: Vec<&crate::model::EvidenceRef> = g.evidence_refs.iter().collect();
        sorted.sort_by_key(|r| r.artifact_path.starts_with("bridge/compiled_plans/"));
        let refs: Vec<Value> = sorted
            .into_iter()
            .map(|r| json!({"path": r.artifact_path, "selector": r.selector, "href": href(inputs, &r.artifact_path)}))
            .collect();
        groups
            .entry(crate::model::gap_ordinal(&g.category))
            .or_insert_with(|| (g.category.clone(), Vec::new()))
            .1
            .push(json!({
                "action_id": a.action_id,
                "technique_id": a.technique_id,
                "technique_name": crate::attack::technique(&a.technique_id).name,
                "target": a.target_asset_id,
                "test": a.test_label(),
                "summary": g.summary,
                "layer": g.layer,
                "evidence": evidence,
                "refs": refs,
            }));
    }
    groups
        .into_values()
        .map(|(cat, items)| {
            json!({"category": cat, "label": gap_label(&cat), "layer": crate::model::gap_layer(&cat),
                   "color": crate::layer::category_color(&cat),
                   "count": items.len(), "items": items})
        })
        .collect()
}

/// The regression deltas as people read them: signed deltas, unchanged rows marked.
fn deltas_view(r: &Regression) -> Vec<Value> {
    let f = |v: Option<f64>| v.map(svg::num).unwrap_or_else(|| "-".into());
    r.deltas
        .iter()
        .map(|d| {
            let delta = match d.delta {
                Some(x) if x > 0.0 => format!("+{}", svg::num(x)),
                Some(x) => svg::num(x),
                None => "-".into(),
            };
            json!({"metric": d.metric, "baseline": f(d.baseline), "candidate": f(d.candidate), "delta": delta,
                   "alert_when": d.alert_when.clone().unwrap_or_default(), "alerted": d.alerted,
                   "changed": d.delta.is_some_and(|x| x != 0.0)})
        })
        .collect()
}

/// The lifecycle cell: one pill when every recorded phase succeeded (their durations in its
/// tooltip), else one pill per phase with its outcome and reason.
fn lifecycle(a: &ActionView) -> Vec<Value> {
    let recorded: Vec<(&str, &crate::analysis::PhaseView)> = crate::analysis::PHASES
        .iter()
        .zip(&a.phases)
        .filter_map(|(n, p)| p.as_ref().map(|p| (*n, p)))
        .collect();
    let timing = |n: &str, p: &crate::analysis::PhaseView| {
        format!(
            "{n}: {}{}",
            p.outcome,
            p.duration_ms
                .map(|d| format!(" in {d} ms"))
                .unwrap_or_default()
        )
    };
    if !recorded.is_empty() && recorded.iter().all(|(_, p)| p.outcome == "success") {
        let names: Vec<&str> = recorded.iter().map(|(n, _)| *n).collect();
        let title: Vec<String> = recorded.iter().map(|(n, p)| timing(n, p)).collect();
        let text = if names.len() == crate::analysis::PHASES.len() {
            "all 4 phases ✓".to_string()
        } else {
            format!("{} ✓", names.join(" · "))
        };
        return vec![json!({"class": "success", "text": text, "title": title.join("; ")})];
    }
    crate::analysis::PHASES
        .iter()
        .zip(&a.phases)
        .map(|(n, p)| match p {
            None => json!({"class": "none", "text": format!("{n}: -"), "title": format!("{n}: not recorded")}),
            Some(p) => {
                let detail = p
                    .reason_code
                    .clone()
                    .or_else(|| p.exit_code.filter(|e| *e != 0).map(|e| format!("exit {e}")));
                let text = match detail {
                    Some(d) => format!("{n}: {} ({d})", p.outcome),
                    None => format!("{n}: {}", p.outcome),
                };
                json!({"class": p.outcome, "text": text, "title": timing(n, p)})
            }
        })
        .collect()
}

/// The date all actions started on (`YYYY-MM-DD`), when they share one.
fn actions_date(analysis: &Analysis) -> Option<String> {
    let dates: std::collections::BTreeSet<&str> = analysis
        .actions
        .iter()
        .filter_map(|a| a.start_utc.as_deref()?.get(..10))
        .collect();
    (dates.len() == 1).then(|| dates.into_iter().next().unwrap_or_default().to_string())
}

fn actions(analysis: &Analysis, one_date: bool) -> Vec<Value> {
    analysis
        .actions
        .iter()
        .map(|a| {
            let phases = lifecycle(a);
            let r = a.row.as_ref();
            let start_full = a.start_utc.clone().unwrap_or_else(|| "-".into());
            let start = match (&a.start_utc, one_date) {
                (Some(s), true) => s.get(11..19).unwrap_or(s).to_string(),
                (Some(s), false) => s.get(..19).unwrap_or(s).replace('T', " "),
                (None, _) => "-".into(),
            };
            json!({
                "order": a.order,
                "action_id": a.action_id,
                "action_key": a.action_key,
                "key_short": a.action_key.chars().take(12).collect::<String>(),
                "test": a.test_name.clone().unwrap_or_else(|| a.engine_test_id.clone()),
                "technique_id": a.technique_id,
                "target": a.target_asset_id,
                "start": start,
                "start_full": start_full,
                "duration": a.duration_ms.map(|d| duration(d as f64 / 1000.0)).unwrap_or_else(|| "-".into()),
                "phases": phases,
                "result": outcome_label(&a.outcome),
                "key": a.outcome.key(),
                "latency": secs(r.and_then(|r| r.latency_seconds)),
                "rules": r.map(|r| r.rules_matched.iter().map(|m| m.rule_title.clone()).collect::<Vec<_>>().join("; ")).unwrap_or_default(),
            })
        })
        .collect()
}

/// The order the page lists gates in: what matters most first.
const GATE_ORDER: &[&str] = &[
    "min_technique_coverage",
    "max_allowed_latency_seconds",
    "min_tier1_field_coverage",
    "max_missing_telemetry_rate",
    "max_unmapped_event_type_rate",
    "max_bridge_gap_mapping_rate",
    "max_bridge_gap_feature_rate",
    "max_bridge_gap_other_rate",
    "max_false_positive_detection_rate",
    "max_false_positive_detection_count",
    "regression_alert",
];

/// A gate for people: what it measures, and its numbers in the gate's unit.
fn gate_view(g: &crate::thresholds::GateResult) -> Value {
    let label = match g.gate_id.as_str() {
        "min_technique_coverage" => "Technique coverage",
        "max_allowed_latency_seconds" => "Slowest detection latency",
        "min_tier1_field_coverage" => "Tier-1 field coverage",
        "max_missing_telemetry_rate" => "Actions lost to missing telemetry",
        "max_unmapped_event_type_rate" => "Actions lost to unmapped event types",
        "max_bridge_gap_mapping_rate" => "Actions lost to bridge mappings",
        "max_bridge_gap_feature_rate" => "Actions lost to unsupported rule features",
        "max_bridge_gap_other_rate" => "Actions lost to other bridge problems",
        "max_false_positive_detection_rate" => "Unattributed detections (share)",
        "max_false_positive_detection_count" => "Unattributed detections",
        "regression_alert" => "Regression alerts",
        other => other,
    };
    let fmt = |v: f64| {
        if g.gate_id.ends_with("_seconds") {
            format!("{} s", svg::num(v))
        } else if g.gate_id.ends_with("_rate") || g.gate_id.ends_with("_coverage") {
            pct(Some(v))
        } else {
            svg::num(v)
        }
    };
    let bound = if g.gate_id.starts_with("min_") {
        "≥ "
    } else {
        "≤ "
    };
    let reason = match (g.pass, &g.degradation_reason) {
        (Some(false), _) if g.gate_id != crate::thresholds::REGRESSION_GATE => {
            if g.gate_id.starts_with("min_") {
                "below the limit"
            } else {
                "above the limit"
            }
            .to_string()
        }
        (_, Some(r)) => r.clone(),
        _ => String::new(),
    };
    json!({"gate_id": g.gate_id, "label": label, "threshold": format!("{bound}{}", fmt(g.threshold)),
           "actual": g.actual.map(fmt).unwrap_or_else(|| "-".into()),
           "result": match g.pass { Some(true) => "pass", Some(false) => "fail", None => "n/a" },
           "reason": reason})
}

/// Render the page. `report` is `report.json` (the same numbers, already assembled).
pub fn render(
    inputs: &Inputs,
    analysis: &Analysis,
    thresholds: &Thresholds,
    regression: Option<&Regression>,
    report: &Value,
) -> Result<String, ReportError> {
    let s = &inputs.summary;
    let m = &s.metrics;
    let (matrix, legend) = matrix(analysis);
    let mut gates: Vec<Value> = thresholds.gates.iter().map(gate_view).collect();
    let rank = |g: &Value| {
        GATE_ORDER
            .iter()
            .position(|id| g["gate_id"] == *id)
            .unwrap_or(GATE_ORDER.len())
    };
    gates.sort_by_key(|g| rank(g));
    let mut why: Vec<String> = gates
        .iter()
        .filter(|g| g["result"] == "fail" && g["gate_id"] != crate::thresholds::REGRESSION_GATE)
        .map(|g| {
            format!(
                "{}: {}, limit {}",
                g["label"].as_str().unwrap_or(""),
                g["actual"].as_str().unwrap_or(""),
                g["threshold"].as_str().unwrap_or("")
            )
        })
        .collect();
    let gates_failed = why.len();
    let alerts = regression
        .map(|r| r.alert_reasons.clone())
        .unwrap_or_default();
    why.extend(alerts.iter().map(|a| format!("Regression: {a}")));
    let why_title = match (gates_failed, alerts.len()) {
        (0, 0) => format!("scoring recommends {}", s.status_recommendation),
        (g, 0) => format!("{g} quality gate(s) failed."),
        (0, a) => format!("{a} regression alert(s)."),
        (g, a) => format!("{g} quality gate(s) failed and {a} regression alert(s)."),
    };
    let date = actions_date(analysis);
    let versions: Vec<Value> = report["versions"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| json!({"key": k, "value": value_text(v)}))
                .collect()
        })
        .unwrap_or_default();
    let mut artifacts: Vec<Value> = Vec::new();
    for p in report["extensions"]["artifacts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let p = p.as_str().unwrap_or("");
        if p == "report/report.html" {
            continue;
        }
        artifacts.push(json!({"path": p, "href": href(inputs, p)}));
    }
    let ev = &report["event_volume"];
    let bridge = &report["bridge_health"];
    let total_rules = bridge["total_rules"].as_u64().unwrap_or(0);
    let exec_rules = bridge["executable_rules"].as_u64().unwrap_or(0);
    let ctx = json!({
        "style": STYLE,
        "title": format!("{} {} · {}", s.scenario_id, s.scenario_version, report["status"].as_str().unwrap_or("")),
        "run_id": s.run_id,
        "scenario_id": s.scenario_id,
        "scenario_version": s.scenario_version,
        "status": report["status"],
        "status_reasons": report["status_reasons"],
        "es": report["executive_summary"],
        "coverage": pct(m.technique_coverage_rate),
        "coverage_width": m.technique_coverage_rate.map(|c| (c * 1000.0).round() / 10.0).unwrap_or(0.0),
        "m": m,
        "fp_rate": pct(m.false_positive_detection_rate),
        "span": report["executive_summary"]["duration_seconds"].as_f64().map(duration),
        "n": {
            "actions_total": count(m.actions_total),
            "actions_executed": count(m.actions_executed),
            "actions_detected": count(m.actions_detected),
            "techniques_executed": count(m.techniques_executed),
            "techniques_detected": count(m.techniques_detected),
            "false_positives": count(m.false_positive_detection_count),
            "gaps": count(analysis.gaps.len() as u64),
        },
        "tier1": pct(m.tier1_field_coverage_rate),
        "gates": gates,
        "why": why,
        "why_title": why_title,
        "matrix": matrix,
        "legend": legend,
        "latency": latency(inputs, analysis),
        "gaps": gaps(inputs, analysis),
        "gaps_total": analysis.gaps.len(),
        "actions": actions(analysis, date.is_some()),
        "actions_date": date,
        "sources": report["per_source"],
        "normalization": ev["normalization"],
        "mapped_pct": pct(ev["normalization"]["mapped_pct"].as_f64()),
        "mapped_width": ev["normalization"]["mapped_pct"].as_f64().map(|c| (c * 1000.0).round() / 10.0).unwrap_or(0.0),
        "bridge": bridge,
        "bridge_exec_width": if total_rules > 0 { (exec_rules as f64 * 1000.0 / total_rules as f64).round() / 10.0 } else { 0.0 },
        "bridge_reasons": bridge["non_executable_reason_counts"].as_object().map(|o| {
            let mut v: Vec<(&String, &Value)> = o.iter().collect();
            v.sort_by(|a, b| b.1.as_u64().cmp(&a.1.as_u64()).then(a.0.cmp(b.0)));
            v.into_iter().map(|(k, n)| json!({"reason": k, "count": n})).collect::<Vec<_>>()
        }).unwrap_or_default(),
        "fidelity": report["fidelity"],
        "criteria": report["criteria_evaluation"],
        "regression": regression,
        "deltas": regression.map(deltas_view).unwrap_or_default(),
        "artifacts": artifacts,
        "versions": versions,
    });
    render_template("report.html", TEMPLATE, &ctx)
}

/// Render an embedded template (autoescaped as HTML: the name ends in `.html`).
pub fn render_template(name: &str, source: &str, ctx: &Value) -> Result<String, ReportError> {
    let mut env = minijinja::Environment::new();
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| ReportError::Render(format!("{name}: {e}")))?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_template(name, source)
        .map_err(|e| ReportError::Render(format!("{name}: {e}")))?;
    let t = env
        .get_template(name)
        .map_err(|e| ReportError::Render(format!("{name}: {e}")))?;
    t.render(minijinja::value::Serde(ctx))
        .map_err(|e| ReportError::Render(format!("{name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(12_345_678), "12,345,678");
        assert_eq!(duration(42.5), "42.5 s");
        assert_eq!(duration(215.0), "3 min 35 s");
        assert_eq!(duration(18_420.0), "5 h 07 min");
        assert_eq!(duration(200_015.0), "2 d 7 h");
        assert_eq!(pct(Some(0.375)), "37.5%");
        assert_eq!(pct(None), "-");
    }
}
