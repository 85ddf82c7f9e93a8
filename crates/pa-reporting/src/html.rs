//! `report/report.html`: one self-contained page (inline CSS and SVG, no script, no external
//! reference) rendered from the embedded template `templates/report.html` with minijinja, which
//! escapes every value taken from data (autoescape by the `.html` name). Markup built here is
//! inserted as is: the SVG charts (their own escaping), and the parts that grow with the run —
//! a gap card per undetected action and a row per action — written straight to a string with
//! the template's own escaping (`minijinja::HtmlEscape`); tests hold them to the markup the
//! template gave for them.

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

/// The gap cards, grouped by category in precedence order; each group's cards are markup
/// ([`gap_card`]): the page holds one per undetected action, tens of thousands in a large run.
fn gaps(inputs: &Inputs, analysis: &Analysis) -> Vec<Value> {
    let mut groups: BTreeMap<usize, (String, usize, String)> = BTreeMap::new();
    for i in &analysis.gaps {
        let a = &analysis.actions[*i];
        let Some(g) = a.gap() else { continue };
        let group = groups
            .entry(crate::model::gap_ordinal(&g.category))
            .or_insert_with(|| (g.category.clone(), 0, String::new()));
        group.1 += 1;
        gap_card(&mut group.2, inputs, a, g);
    }
    groups
        .into_values()
        .map(|(cat, count, html)| {
            json!({"category": cat, "label": gap_label(&cat), "layer": crate::model::gap_layer(&cat),
                   "color": crate::layer::category_color(&cat),
                   "count": count, "html": html})
        })
        .collect()
}

/// Appends `text` HTML-escaped as the template escapes values (`minijinja::HtmlEscape`).
fn esc(out: &mut String, text: &str) {
    use std::fmt::Write;
    let _ = write!(out, "{}", minijinja::HtmlEscape(text));
}

/// One evidence reference: a link when the artifact is in the bundle, then its selector.
fn evidence_ref(out: &mut String, inputs: &Inputs, r: &crate::model::EvidenceRef) {
    match href(inputs, &r.artifact_path) {
        // `href` percent-encodes everything but `A-Z a-z 0-9 - . _ ~ / %`.
        Some(h) => {
            out.push_str("<a href=\"");
            out.push_str(&h);
            out.push_str("\">");
            esc(out, &r.artifact_path);
            out.push_str("</a>");
        }
        None => {
            out.push_str("<span class=\"mono\">");
            esc(out, &r.artifact_path);
            out.push_str("</span>");
        }
    }
    out.push_str(" <span class=\"muted mono\">");
    esc(out, &r.selector);
    out.push_str("</span>");
}

/// How many evidence references a card shows before folding the rest away.
const REFS_SHOWN: usize = 4;

/// One gap card: the technique, the action, the summary, the evidence (long values folded)
/// and the evidence references (the bundle's own documents first, compiled plans after).
fn gap_card(out: &mut String, inputs: &Inputs, a: &ActionView, g: &crate::model::Gap) {
    out.push_str("    <div class=\"gap\">\n      <div class=\"head\"><b class=\"mono\">");
    esc(out, &a.technique_id);
    out.push_str("</b>");
    let name = crate::attack::technique(&a.technique_id).name;
    if !name.is_empty() {
        out.push_str("<span>");
        esc(out, &name);
        out.push_str("</span>");
    }
    out.push_str("</div>\n      <div class=\"muted\">");
    esc(out, &a.test_label());
    out.push_str(" · target ");
    esc(out, &a.target_asset_id);
    out.push_str("</div>\n      <div class=\"summary\">");
    esc(out, &g.summary);
    out.push_str("</div>\n");
    if !g.evidence.is_empty() {
        out.push_str("      <dl class=\"kv\">\n");
        for (k, v) in &g.evidence {
            let text = value_text(v);
            out.push_str("<dt>");
            esc(out, k);
            out.push_str("</dt><dd>");
            if text.chars().count() > 160 {
                out.push_str("<details><summary>");
                esc(out, &text.chars().take(120).collect::<String>());
                out.push_str("…</summary><pre>");
                esc(out, &text);
                out.push_str("</pre></details>");
            } else {
                out.push_str("<code>");
                esc(out, &text);
                out.push_str("</code>");
            }
            out.push_str("</dd>\n");
        }
        out.push_str("      </dl>\n");
    }
    if !g.evidence_refs.is_empty() {
        let mut refs: Vec<&crate::model::EvidenceRef> = g.evidence_refs.iter().collect();
        refs.sort_by_key(|r| r.artifact_path.starts_with("bridge/compiled_plans"));
        out.push_str("      <div class=\"refs\">Evidence: ");
        for (i, r) in refs.iter().take(REFS_SHOWN).enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            evidence_ref(out, inputs, r);
        }
        if refs.len() > REFS_SHOWN {
            out.push_str(&format!(
                "<details><summary>{} more evidence reference(s)</summary>",
                refs.len() - REFS_SHOWN
            ));
            for (i, r) in refs.iter().skip(REFS_SHOWN).enumerate() {
                if i > 0 {
                    out.push_str("<br>");
                }
                evidence_ref(out, inputs, r);
            }
            out.push_str("</details>");
        }
        out.push_str("</div>\n");
    }
    out.push_str("    </div>\n");
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

/// Appends one lifecycle pill.
fn pill(out: &mut String, class: &str, title: &str, text: &str) {
    out.push_str("<span class=\"lc ");
    esc(out, class);
    out.push_str("\" title=\"");
    esc(out, title);
    out.push_str("\">");
    esc(out, text);
    out.push_str("</span>");
}

/// The lifecycle cell: one pill when every recorded phase succeeded (their durations in its
/// tooltip), else one pill per phase with its outcome and reason.
fn lifecycle(out: &mut String, a: &ActionView) {
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
        pill(out, "success", &title.join("; "), &text);
        return;
    }
    for (n, p) in crate::analysis::PHASES.iter().zip(&a.phases) {
        match p {
            None => pill(
                out,
                "none",
                &format!("{n}: not recorded"),
                &format!("{n}: -"),
            ),
            Some(p) => {
                let detail = p
                    .reason_code
                    .clone()
                    .or_else(|| p.exit_code.filter(|e| *e != 0).map(|e| format!("exit {e}")));
                let text = match detail {
                    Some(d) => format!("{n}: {} ({d})", p.outcome),
                    None => format!("{n}: {}", p.outcome),
                };
                pill(out, &p.outcome, &timing(n, p), &text);
            }
        }
    }
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

/// The rows of the actions table, one per action in run order (markup: a large run has tens
/// of thousands).
fn actions(analysis: &Analysis, one_date: bool) -> String {
    let mut out = String::with_capacity(analysis.actions.len() * 900);
    for a in &analysis.actions {
        let r = a.row.as_ref();
        let start = match (&a.start_utc, one_date) {
            (Some(s), true) => s.get(11..19).unwrap_or(s).to_string(),
            (Some(s), false) => s.get(..19).unwrap_or(s).replace('T', " "),
            (None, _) => "-".into(),
        };
        out.push_str("<tr>\n      <td class=\"num\">");
        out.push_str(&a.order.to_string());
        out.push_str("</td>\n      <td><b class=\"mono\">");
        esc(&mut out, &a.action_id);
        out.push_str("</b><br><span class=\"muted\">");
        esc(
            &mut out,
            a.test_name.as_deref().unwrap_or(a.engine_test_id.as_str()),
        );
        out.push_str("</span><br><span class=\"muted mono small\" title=\"action_key ");
        esc(&mut out, &a.action_key);
        out.push_str("\">");
        esc(&mut out, &a.action_key.chars().take(12).collect::<String>());
        out.push_str("…</span></td>\n      <td class=\"mono nowrap\">");
        esc(&mut out, &a.technique_id);
        out.push_str("</td><td class=\"nowrap\">");
        esc(&mut out, &a.target_asset_id);
        out.push_str("</td><td class=\"mono nowrap\" title=\"");
        esc(&mut out, a.start_utc.as_deref().unwrap_or("-"));
        out.push_str("\">");
        esc(&mut out, &start);
        out.push_str("</td><td class=\"num nowrap\">");
        let dur = a
            .duration_ms
            .map(|d| duration(d as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        esc(&mut out, &dur);
        out.push_str("</td>\n      <td class=\"lifecycle\">");
        lifecycle(&mut out, a);
        out.push_str("</td>\n      <td><span class=\"tag o-");
        esc(&mut out, a.outcome.key());
        out.push_str("\">");
        esc(&mut out, &outcome_label(&a.outcome));
        out.push_str("</span></td><td class=\"num nowrap\">");
        esc(&mut out, &secs(r.and_then(|r| r.latency_seconds)));
        out.push_str("</td><td class=\"small\">");
        if let Some(r) = r {
            for (i, m) in r.rules_matched.iter().enumerate() {
                if i > 0 {
                    out.push_str("; ");
                }
                esc(&mut out, &m.rule_title);
            }
        }
        out.push_str("</td>\n    </tr>\n");
    }
    out
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

    /// The template fragments the gap cards and action rows were rendered with before they
    /// moved to Rust (the page of a large run spent most of its time there): the Rust
    /// renderers must give the same markup, escaping included.
    const CARD_TEMPLATE: &str = r#"{% for g in items %}
    <div class="gap">
      <div class="head"><b class="mono">{{ g.technique_id }}</b>{% if g.technique_name %}<span>{{ g.technique_name }}</span>{% endif %}</div>
      <div class="muted">{{ g.test }} · target {{ g.target }}</div>
      <div class="summary">{{ g.summary }}</div>
      {% if g.evidence %}
      <dl class="kv">
        {% for e in g.evidence %}<dt>{{ e.key }}</dt><dd>{% if e.long %}<details><summary>{{ e.short }}…</summary><pre>{{ e.value }}</pre></details>{% else %}<code>{{ e.value }}</code>{% endif %}</dd>
        {% endfor %}
      </dl>
      {% endif %}
      {% if g.refs %}
      {% macro evref(r) %}{% if r.href %}<a href="{{ r.href|safe }}">{{ r.path }}</a>{% else %}<span class="mono">{{ r.path }}</span>{% endif %} <span class="muted mono">{{ r.selector }}</span>{% endmacro %}
      <div class="refs">Evidence: {% for r in g.refs[:4] %}{{ evref(r) }}{% if not loop.last %}; {% endif %}{% endfor %}
      {% if g.refs|length > 4 %}<details><summary>{{ g.refs|length - 4 }} more evidence reference(s)</summary>{% for r in g.refs[4:] %}{{ evref(r) }}{% if not loop.last %}<br>{% endif %}{% endfor %}</details>{% endif %}</div>
      {% endif %}
    </div>
    {% endfor %}
"#;

    const ROW_TEMPLATE: &str = r#"{% for a in actions %}<tr>
      <td class="num">{{ a.order }}</td>
      <td><b class="mono">{{ a.action_id }}</b><br><span class="muted">{{ a.test }}</span><br><span class="muted mono small" title="action_key {{ a.action_key }}">{{ a.key_short }}…</span></td>
      <td class="mono nowrap">{{ a.technique_id }}</td><td class="nowrap">{{ a.target }}</td><td class="mono nowrap" title="{{ a.start_full }}">{{ a.start }}</td><td class="num nowrap">{{ a.duration }}</td>
      <td class="lifecycle">{% for p in a.phases %}<span class="lc {{ p.class }}" title="{{ p.title }}">{{ p.text }}</span>{% endfor %}</td>
      <td><span class="tag o-{{ a.key }}">{{ a.result }}</span></td><td class="num nowrap">{{ a.latency }}</td><td class="small">{{ a.rules }}</td>
    </tr>
    {% endfor %}
"#;

    /// The demo bundle, with one gap given long and hostile evidence and six references.
    fn hostile_inputs(dir: &std::path::Path) -> (Inputs, Analysis) {
        let run = crate::synthetic::BundleSpec::demo("00000000-0000-4000-8000-0000000000aa")
            .write(dir)
            .unwrap();
        let manifest = crate::inputs::load_manifest(&run).unwrap();
        let mut inputs = crate::inputs::load(&run, manifest).unwrap();
        let row = inputs
            .summary
            .actions
            .iter_mut()
            .find(|r| r.gap.is_some())
            .unwrap();
        let g = row.gap.as_mut().unwrap();
        g.summary = "<script>alert('x')</script> & \"quoted\" / slash".into();
        g.evidence
            .insert("long".into(), Value::String("é<b>".repeat(60)));
        g.evidence.insert("n".into(), json!(42));
        g.evidence
            .insert("list".into(), json!(["a'b", {"k": "</dd>"}]));
        g.evidence_refs = [
            "bridge/compiled_plans/r1.json",
            "ground_truth.jsonl",
            "missing/odd name&.json",
            "bridge/compiled_plans/r2.json",
            "manifest.json",
            "../escape",
        ]
        .iter()
        .map(|p| crate::model::EvidenceRef {
            artifact_path: (*p).into(),
            selector: "json_pointer:/a<b>".into(),
        })
        .collect();
        let analysis = crate::analysis::analyze(&inputs);
        (inputs, analysis)
    }

    fn template(source: &str, ctx: &Value) -> String {
        render_template("fragment.html", source, ctx).unwrap()
    }

    #[test]
    fn gap_cards_are_the_markup_the_template_gave() {
        let dir = tempfile::tempdir().unwrap();
        let (inputs, analysis) = hostile_inputs(dir.path());
        let mut items = Vec::new();
        let mut cards = String::new();
        for i in &analysis.gaps {
            let a = &analysis.actions[*i];
            let g = a.gap().unwrap();
            gap_card(&mut cards, &inputs, a, g);
            let evidence: Vec<Value> = g
                .evidence
                .iter()
                .map(|(k, v)| {
                    let text = value_text(v);
                    json!({"key": k, "value": text, "long": text.chars().count() > 160,
                           "short": text.chars().take(120).collect::<String>()})
                })
                .collect();
            let mut sorted: Vec<&crate::model::EvidenceRef> = g.evidence_refs.iter().collect();
            sorted.sort_by_key(|r| r.artifact_path.starts_with("bridge/compiled_plans"));
            let refs: Vec<Value> = sorted
                .into_iter()
                .map(|r| json!({"path": r.artifact_path, "selector": r.selector, "href": href(&inputs, &r.artifact_path)}))
                .collect();
            items.push(json!({
                "technique_id": a.technique_id,
                "technique_name": crate::attack::technique(&a.technique_id).name,
                "target": a.target_asset_id,
                "test": a.test_label(),
                "summary": g.summary,
                "evidence": evidence,
                "refs": refs,
            }));
        }
        assert!(cards.contains("&lt;script&gt;") && cards.contains("2 more evidence reference(s)"));
        assert!(cards.contains("<details><summary>é&lt;b&gt;"));
        assert_eq!(cards, template(CARD_TEMPLATE, &json!({"items": items})));
    }

    #[test]
    fn action_rows_are_the_markup_the_template_gave() {
        let dir = tempfile::tempdir().unwrap();
        let (_, analysis) = hostile_inputs(dir.path());
        for one_date in [true, false] {
            let rows: Vec<Value> = analysis
                .actions
                .iter()
                .map(|a| {
                    let mut pills = String::new();
                    lifecycle(&mut pills, a);
                    let r = a.row.as_ref();
                    json!({
                        "order": a.order,
                        "action_id": a.action_id,
                        "action_key": a.action_key,
                        "key_short": a.action_key.chars().take(12).collect::<String>(),
                        "test": a.test_name.clone().unwrap_or_else(|| a.engine_test_id.clone()),
                        "technique_id": a.technique_id,
                        "target": a.target_asset_id,
                        "start": match (&a.start_utc, one_date) {
                            (Some(s), true) => s.get(11..19).unwrap_or(s).to_string(),
                            (Some(s), false) => s.get(..19).unwrap_or(s).replace('T', " "),
                            (None, _) => "-".into(),
                        },
                        "start_full": a.start_utc.clone().unwrap_or_else(|| "-".into()),
                        "duration": a.duration_ms.map(|d| duration(d as f64 / 1000.0)).unwrap_or_else(|| "-".into()),
                        "phases": [],
                        "result": outcome_label(&a.outcome),
                        "key": a.outcome.key(),
                        "latency": secs(r.and_then(|r| r.latency_seconds)),
                        "rules": r.map(|r| r.rules_matched.iter().map(|m| m.rule_title.clone()).collect::<Vec<_>>().join("; ")).unwrap_or_default(),
                        "pills": pills,
                    })
                })
                .collect();
            // The pills are compared on their own below: put them back where the loop was.
            let expected = template(
                &ROW_TEMPLATE.replace(
                    r#"{% for p in a.phases %}<span class="lc {{ p.class }}" title="{{ p.title }}">{{ p.text }}</span>{% endfor %}"#,
                    "{{ a.pills|safe }}",
                ),
                &json!({"actions": rows}),
            );
            assert_eq!(actions(&analysis, one_date), expected);
        }
        // The pills: one for a clean lifecycle, one per phase otherwise.
        let mut cells: Vec<String> = analysis
            .actions
            .iter()
            .map(|a| {
                let mut pills = String::new();
                lifecycle(&mut pills, a);
                pills
            })
            .collect();
        cells.sort();
        cells.dedup();
        assert!(cells.iter().any(|c| {
            c.starts_with(r#"<span class="lc success" title="prepare: success in "#)
                && c.ends_with(">all 4 phases ✓</span>")
        }));
        assert!(cells.iter().any(|c| {
            c.starts_with(r#"<span class="lc failed" title="prepare: failed"#)
                && c.contains(">prepare: failed (prepare_failed)</span><span class=\"lc skipped\"")
                && c.ends_with(
                    r#"<span class="lc none" title="teardown: not recorded">teardown: -</span>"#,
                )
        }));
    }

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
