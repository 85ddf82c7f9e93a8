//! `report/thresholds.json`: the quality gates scoring evaluated, plus the regression gate,
//! each with why it degraded the run; the one status CI reads.

use crate::model::{Gate, Summary};
use crate::regression::Regression;
use serde::Serialize;

/// The gate a regression alert fails.
pub const REGRESSION_GATE: &str = "regression_alert";

/// One gate of `thresholds.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateResult {
    pub gate_id: String,
    pub threshold: f64,
    pub actual: Option<f64>,
    /// `null`: the gate could not be evaluated (see `degradation_reason`).
    pub pass: Option<bool>,
    /// Why the gate failed or could not be evaluated; `null` when it passed.
    pub degradation_reason: Option<String>,
}

/// `report/thresholds.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub contract_version: &'static str,
    pub run_id: String,
    /// Volatile.
    pub evaluated_at_utc: String,
    /// No gate failed (a gate that could not be evaluated does not fail the run).
    pub overall_pass: bool,
    /// Sorted by `gate_id`.
    pub gates: Vec<GateResult>,
    /// `success` or `partial`; the run's `report.status`.
    pub status_recommendation: String,
}

impl Thresholds {
    /// The gates that failed.
    pub fn failed(&self) -> impl Iterator<Item = &GateResult> {
        self.gates.iter().filter(|g| g.pass == Some(false))
    }
}

fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn degradation(g: &Gate) -> Option<String> {
    match (g.pass, g.actual) {
        (Some(true), _) => None,
        (Some(false), Some(a)) => {
            let (what, bound) = if g.gate_id.starts_with("min_") {
                ("below the minimum", num(g.threshold))
            } else {
                ("above the maximum", num(g.threshold))
            };
            Some(format!("{}: {} is {what} {bound}", g.gate_id, num(a)))
        }
        (Some(false), None) => Some(format!("{}: failed", g.gate_id)),
        (None, _) => Some(
            g.indeterminate_reason
                .clone()
                .unwrap_or_else(|| "not_applicable".into()),
        ),
    }
}

/// Build the document from the summary's gates and the regression comparison (if any).
pub fn build(summary: &Summary, regression: Option<&Regression>, now: &str) -> Thresholds {
    let mut gates: Vec<GateResult> = summary
        .gates
        .iter()
        .map(|g| GateResult {
            gate_id: g.gate_id.clone(),
            threshold: g.threshold,
            actual: g.actual,
            pass: g.pass,
            degradation_reason: degradation(g),
        })
        .collect();
    let reg = match regression {
        None => GateResult {
            gate_id: REGRESSION_GATE.into(),
            threshold: 0.0,
            actual: None,
            pass: None,
            degradation_reason: Some("not_applicable: no baseline was given".into()),
        },
        Some(r) if !r.compared() => GateResult {
            gate_id: REGRESSION_GATE.into(),
            threshold: 0.0,
            actual: None,
            pass: None,
            degradation_reason: Some(format!(
                "{}: {}",
                r.comparability
                    .reason_code
                    .as_deref()
                    .unwrap_or("indeterminate"),
                r.comparability.message
            )),
        },
        Some(r) => GateResult {
            gate_id: REGRESSION_GATE.into(),
            threshold: 0.0,
            actual: Some(r.alert_reasons.len() as f64),
            pass: Some(!r.regression_alerted),
            degradation_reason: r.regression_alerted.then(|| r.alert_reasons.join("; ")),
        },
    };
    gates.retain(|g| g.gate_id != REGRESSION_GATE);
    gates.push(reg);
    gates.sort_by(|a, b| a.gate_id.as_bytes().cmp(b.gate_id.as_bytes()));
    let overall_pass = !gates.iter().any(|g| g.pass == Some(false));
    let status = if overall_pass && summary.status_recommendation == "success" {
        "success"
    } else {
        "partial"
    };
    Thresholds {
        contract_version: pa_bundle::CONTRACT_VERSION,
        run_id: summary.run_id.clone(),
        evaluated_at_utc: now.to_string(),
        overall_pass,
        gates,
        status_recommendation: status.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(0.75), "0.75");
        assert_eq!(num(300.0), "300");
        assert_eq!(num(0.0), "0");
        let g = Gate {
            gate_id: "min_technique_coverage".into(),
            threshold: 0.75,
            actual: Some(0.5),
            pass: Some(false),
            indeterminate_reason: None,
        };
        assert_eq!(
            degradation(&g).unwrap(),
            "min_technique_coverage: 0.5 is below the minimum 0.75"
        );
    }
}
