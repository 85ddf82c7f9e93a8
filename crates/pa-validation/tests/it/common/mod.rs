//! Helpers shared by the modules: the repository, the reference data, hand-built ground truth
//! and a minimal run bundle the stage function runs on.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The repository root (two levels above this crate).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file or directory under `../shared/data` beside the repository; panics with a clear
/// message when absent.
pub fn data(rel: &str) -> PathBuf {
    let p = root().join("../shared/data").join(rel);
    assert!(
        p.exists(),
        "reference data missing at {}: the tests need ../shared beside the repository",
        p.display()
    );
    p
}

pub const RUN_ID: &str = "c0ffee00-0000-4000-8000-00000000000a";

/// A lifecycle phase of a ground-truth row.
pub fn phase(name: &str, outcome: &str, started_ms: Option<i64>) -> Value {
    let mut p = json!({"phase": name, "attempt_ordinal": 1, "phase_outcome": outcome});
    if let Some(t) = started_ms {
        p["started_at_utc"] = json!(pa_canon::format_utc_millis(t));
    }
    if outcome == "skipped" {
        p["reason_domain"] = json!("ground_truth");
        p["reason_code"] = json!("prior_phase_blocked");
    }
    p
}

/// A ground-truth row as the runner writes it (the fields the contract requires).
pub fn gt_row(
    action_id: &str,
    engine: &str,
    technique_id: &str,
    engine_test_id: &str,
    os: &str,
    phases: Vec<Value>,
) -> Value {
    let first = phases
        .iter()
        .filter_map(|p| p["started_at_utc"].as_str())
        .min()
        .map(str::to_owned);
    let key = pa_canon::sha256_hex(action_id.as_bytes());
    let mut row = json!({
        "run_id": RUN_ID, "scenario_id": "s1", "scenario_version": "1.0.0",
        "action_id": action_id, "action_key": key,
        "engine": engine, "engine_test_id": engine_test_id, "technique_id": technique_id,
        "target_asset_id": "host-1",
        "resolved_target": {"os": os, "role": "workstation", "tags": []},
        "parameters": {"input_args_redacted": {}, "resolved_inputs_sha256": key},
        "lifecycle": {"phases": phases},
        "extensions": {
            "synthetic_correlation_marker": format!("pa:synth:v1:{RUN_ID}:{action_id}:execute"),
            "synthetic_correlation_marker_digest": "AAAAAAAAAAAAAAAAAAAAAA",
        },
    });
    if let Some(t) = first {
        row["timestamp_utc"] = json!(t);
    }
    row
}

/// JSONL of rows.
pub fn jsonl(rows: &[Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

/// Write a normalized store (sorted, with `_schema.json`) of `events` into `dir`.
pub fn write_store(dir: &Path, events: &[Value]) {
    let spill = dir.parent().expect("store parent");
    let mut w = pa_store::events::EventWriter::new(dir, spill, 64 << 20).expect("writer");
    for e in events {
        w.push(e).expect("push");
    }
    let s = w.finish().expect("finish");
    std::fs::write(
        dir.join("_schema.json"),
        serde_json::to_vec(&s.schema_document).expect("schema"),
    )
    .expect("write schema");
}

/// A run bundle holding what validation reads.
pub struct Bundle {
    pub tmp: tempfile::TempDir,
    pub run: PathBuf,
}

impl Bundle {
    /// `range_dir`: where the range's relative paths (the packs) resolve. `gt`: `None` leaves
    /// `ground_truth.jsonl` out; `events`: `None` leaves the store out.
    pub fn new(
        range_yaml: &str,
        range_dir: &Path,
        gt: Option<&str>,
        events: Option<&[Value]>,
    ) -> Bundle {
        let tmp = tempfile::tempdir().expect("tmp");
        let run = tmp.path().join("runs").join(RUN_ID);
        std::fs::create_dir_all(run.join("inputs")).expect("inputs");
        std::fs::write(run.join("inputs/range.yaml"), range_yaml).expect("range");
        std::fs::write(run.join("inputs/scenario.yaml"), "scenario_id: s1\n").expect("scenario");
        let digest = pa_canon::sha256_prefixed(range_yaml.as_bytes());
        let manifest = json!({
            "contract_version": "0.1.0",
            "run_id": RUN_ID,
            "status": "success",
            "started_at_utc": "2026-01-01T00:00:00.000Z",
            "scenario": {"scenario_id": "s1", "scenario_version": "1.0.0", "runner_type": "atomic", "techniques": ["T1082"]},
            "versions": {"project_version": "0.1.0", "pipeline_version": "0.1.0", "scenario_id": "s1",
                         "scenario_version": "1.0.0", "ocsf_version": "1.7.0", "contracts_version": "0.1.0"},
            "inputs": {"range_yaml_sha256": digest, "scenario_yaml_sha256": digest},
            "targets": [],
            "enabled_stages": ["validation"],
            "stage_outcomes": [],
            "extensions": {"orchestrator": {"range_dir": range_dir.to_string_lossy()}},
        });
        std::fs::write(
            run.join("manifest.json"),
            serde_json::to_vec(&manifest).expect("json"),
        )
        .expect("manifest");
        if let Some(gt) = gt {
            std::fs::write(run.join("ground_truth.jsonl"), gt).expect("gt");
        }
        if let Some(events) = events {
            let store = run.join("normalized/ocsf_events");
            std::fs::create_dir_all(&store).expect("store dir");
            write_store(&store, events);
        }
        Bundle { tmp, run }
    }

    /// Run the validation stage function under the stage protocol; the exit code.
    pub fn validate(&self) -> i32 {
        let args = pa_stage::CommonArgs {
            run_dir: Some(self.run.clone()),
            lock_held: false,
            log_format: pa_stage::LogFormat::Human,
            verbose: 0,
            quiet: 2,
        };
        pa_stage::run_stage(pa_bundle::Stage::Validation, &args, pa_validation::run)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.run.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.run.join(rel).exists()
    }

    pub fn manifest(&self) -> Value {
        serde_json::from_str(&self.read("manifest.json")).expect("manifest")
    }

    /// The recorded validation outcome.
    pub fn outcome(&self) -> Value {
        self.manifest()["stage_outcomes"]
            .as_array()
            .expect("outcomes")
            .iter()
            .find(|o| o["stage"] == "validation")
            .cloned()
            .expect("a validation outcome")
    }
}
