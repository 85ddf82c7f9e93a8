//! `report/attack_layer.json`: an ATT&CK Navigator layer (format 4.5) of the executed
//! techniques: score 100 detected, 50 seen but not detected, 0 not seen; sorted by technique id.

use crate::analysis::{Analysis, Outcome};
use crate::inputs::Inputs;
use serde_json::{Value, json};

/// ATT&CK version of the technique ids and tactics (the v18 tactics of the derived table).
pub const ATTACK_VERSION: &str = "18";
/// Navigator version the layer targets.
pub const NAVIGATOR_VERSION: &str = "5.2.0";
/// Layer format version.
pub const LAYER_VERSION: &str = "4.5";

/// The colour of an outcome (also the matrix's in the HTML report).
pub fn color(o: &Outcome) -> &'static str {
    match o {
        Outcome::Detected => "#2e7d32",
        Outcome::SeenNotDetected(Some(c)) => category_color(c),
        Outcome::SeenNotDetected(None) => "#e6740b",
        Outcome::NotSeen => "#c62828",
        Outcome::NotExecuted => "#9e9e9e",
    }
}

/// The colour of a gap category.
pub fn category_color(category: &str) -> &'static str {
    match category {
        "missing_telemetry" => "#c62828",
        "unmapped_event_type" => "#b8860b",
        "bridge_gap_mapping" => "#6a3d9a",
        "bridge_gap_feature" => "#8e6bbf",
        "bridge_gap_other" => "#a58bc9",
        _ => "#e6740b",
    }
}

/// Build the layer.
pub fn build(inputs: &Inputs, analysis: &Analysis) -> Value {
    let s = &inputs.summary;
    let techniques: Vec<Value> = analysis
        .techniques
        .iter()
        .filter_map(|t| {
            let score = t.outcome.score()?;
            let mut comment = format!(
                "{}: {} of {} executed action(s) detected",
                t.outcome.key(),
                t.detected,
                t.executed
            );
            if !t.rules.is_empty() {
                comment.push_str(&format!(
                    "; rules: {}",
                    t.rules.values().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            if !t.gap_categories.is_empty() {
                comment.push_str(&format!("; gaps: {}", t.gap_categories.join(", ")));
            }
            Some(json!({
                "techniqueID": t.technique_id,
                "score": score,
                "color": color(&t.outcome),
                "comment": comment,
                "enabled": true,
            }))
        })
        .collect();
    json!({
        "name": format!("Purple Axiom: {} {}", s.scenario_id, s.scenario_version),
        "description": format!("Run {}: {} of {} executed technique(s) detected", s.run_id, s.metrics.techniques_detected, s.metrics.techniques_executed),
        "versions": {"attack": ATTACK_VERSION, "navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION},
        "domain": "enterprise-attack",
        "sorting": 3,
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#c62828", "#e6740b", "#2e7d32"], "minValue": 0, "maxValue": 100},
        "legendItems": [
            {"label": "detected (100)", "color": "#2e7d32"},
            {"label": "seen, not detected (50)", "color": "#e6740b"},
            {"label": "not seen: missing telemetry (0)", "color": "#c62828"},
        ],
        "metadata": [
            {"name": "run_id", "value": s.run_id},
            {"name": "status_recommendation", "value": s.status_recommendation},
        ],
    })
}
