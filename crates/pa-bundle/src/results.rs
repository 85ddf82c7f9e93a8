//! `run_results.json` and `logs/health.json`, derived from the manifest.

use crate::manifest::{CONTRACT_VERSION, Manifest};
use crate::stage::OutcomeStatus;
use serde_json::{Value, json};

/// `run_results.json` for a manifest. `actions` is the number of executed actions when known.
pub fn run_results(
    m: &Manifest,
    actions: Option<u64>,
    metrics: serde_json::Map<String, Value>,
) -> Value {
    let count = |s: OutcomeStatus| {
        m.stage_outcomes
            .iter()
            .filter(|o| o.status == s && !o.stage.contains('.'))
            .count()
    };
    let mut pointers = serde_json::Map::new();
    pointers.insert("manifest".into(), json!("manifest.json"));
    pointers.insert("health".into(), json!("logs/health.json"));
    json!({
        "contract_version": CONTRACT_VERSION,
        "run_id": m.run_id,
        "status": m.status,
        "exit_code": m.status.exit_code(),
        "counts": {
            "actions": actions,
            "stages": {
                "success": count(OutcomeStatus::Success),
                "failed": count(OutcomeStatus::Failed),
                "skipped": count(OutcomeStatus::Skipped),
            }
        },
        "metrics": metrics,
        "pointers": pointers,
    })
}

/// `logs/health.json`: the outcomes mirrored, without volatile fields.
pub fn health(m: &Manifest) -> Value {
    let stages: Vec<Value> = m
        .stage_outcomes
        .iter()
        .map(|o| {
            let mut o = o.clone();
            o.duration_ms = None;
            serde_json::to_value(o).unwrap_or(Value::Null)
        })
        .collect();
    json!({
        "contract_version": CONTRACT_VERSION,
        "run_id": m.run_id,
        "status": m.status,
        "stages": stages,
    })
}
