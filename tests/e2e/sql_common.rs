//! What the SQL engine tests share (`sql_engine`, `spark_job`): a run bundle with a normalized
//! store, the normalized EVTX-ATTACK-SAMPLES, `pa-detect` runs and their (rule, event) pairs.

use assert_cmd::Command;
use pa_e2e::{ReplayCase, shared_data, workspace_bin};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A run bundle whose normalized store holds `events` (OCSF JSON lines).
pub fn bundle_with_store(case: &ReplayCase, events: &Path) -> PathBuf {
    case.orchestrate_expect(0);
    let run = case.run_dir();
    write_store(&run, events, pa_store::StoreLayout::default());
    run
}

/// Replace the normalized store of `run` by `events` written in `layout`.
pub fn write_store(run: &Path, events: &Path, layout: pa_store::StoreLayout) {
    let store = run.join("normalized/ocsf_events");
    let _ = std::fs::remove_dir_all(&store);
    let spill = tempfile::tempdir().unwrap();
    let mut w = pa_store::events::EventWriter::new(&store, spill.path(), 64 << 20)
        .unwrap()
        .with_layout(layout);
    for l in std::fs::read_to_string(events).unwrap().lines() {
        if !l.trim().is_empty() {
            w.push(&serde_json::from_str(l).unwrap()).unwrap();
        }
    }
    let s = w.finish().unwrap();
    std::fs::write(
        store.join("_schema.json"),
        serde_json::to_vec(&s.schema_document).unwrap(),
    )
    .unwrap();
}

/// EVTX-ATTACK-SAMPLES normalized to OCSF JSON lines by the real normalizer (stream mode).
pub fn evtx_events(dir: &Path) -> PathBuf {
    let out = dir.join("evtx.jsonl");
    Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "evtx", "-q", "--input"])
        .arg(shared_data().join("evtx/EVTX-ATTACK-SAMPLES"))
        .arg("--output")
        .arg(&out)
        .assert()
        .code(0);
    out
}

/// The Linux audit lab's capture normalized to OCSF JSON lines by the real normalizer.
pub fn audit_events(dir: &Path) -> PathBuf {
    let out = dir.join("audit.jsonl");
    Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "auditd", "-q", "--host", "lab", "--input"])
        .arg(shared_data().join("linux-audit-lab/audit/audit_tagged.log"))
        .arg("--output")
        .arg(&out)
        .assert()
        .code(0);
    out
}

/// `pa-detect --run-dir run --rules rules --engine engine`: the detections, the coverage
/// document and the compiled plans.
pub fn detect(run: &Path, rules: &Path, engine: &str) -> (String, Value, Vec<Value>) {
    detect_args(run, rules, &["--engine".as_ref(), engine.as_ref()])
}

/// [`detect`] with other arguments.
pub fn detect_args(
    run: &Path,
    rules: &Path,
    args: &[&std::ffi::OsStr],
) -> (String, Value, Vec<Value>) {
    let out = Command::new(workspace_bin("pa-detect"))
        .arg("--run-dir")
        .arg(run)
        .arg("--rules")
        .arg(rules)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pa-detect {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let det = std::fs::read_to_string(run.join("detections/detections.jsonl")).unwrap();
    let cov: Value =
        serde_json::from_slice(&std::fs::read(run.join("bridge/coverage.json")).unwrap()).unwrap();
    let plans = std::fs::read_to_string(run.join("bridge/compiled_plans.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (det, cov, plans)
}

pub fn pairs(det: &str) -> BTreeSet<(String, String)> {
    det.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["rule_id"].as_str().unwrap().to_string(),
                v["matched_event_ids"][0].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The detection stage's outcome in the run's manifest (`null` when it has none).
pub fn detection_outcome(run: &Path) -> Value {
    let m: Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == "detection")
        .cloned()
        .unwrap_or(Value::Null)
}

/// The lines of `det` (detections.jsonl) whose rule is not in `refused`.
pub fn lines_without(
    det: &str,
    refused: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    det.lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            !refused.contains_key(v["rule_id"].as_str().unwrap())
        })
        .map(str::to_string)
        .collect()
}
