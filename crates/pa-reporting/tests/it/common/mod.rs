//! Hand-built scored bundles (`pa_reporting::synthetic`) and running the stage in process.

use pa_bundle::Stage;
use pa_reporting::synthetic::{BundleSpec, Doc};
use pa_reporting::{Options, RunOutcome};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Run ids of the test bundles.
pub const RUN_A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const RUN_B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

/// Check every document of a synthetic bundle against its contract, then write it.
pub fn write(spec: &BundleSpec, ws: &Path) -> PathBuf {
    for (rel, doc) in spec.documents() {
        let contract = match rel.as_str() {
            "manifest.json" => "manifest",
            "ground_truth.jsonl" => "ground_truth",
            "scoring/summary.json" => "scoring_summary",
            "normalized/mapping_coverage.json" => "mapping_coverage",
            "bridge/coverage.json" => "bridge_coverage",
            "logs/telemetry_validation.json" => "telemetry_validation",
            "run_results.json" => "run_results",
            "logs/health.json" => "health",
            other => panic!("unexpected document {other}"),
        };
        let rows = match doc {
            Doc::Json(v) => vec![v],
            Doc::Lines(rows) => rows,
        };
        for v in rows {
            let errs = pa_bundle::contracts::validate_value(contract, &v).unwrap();
            assert!(
                errs.is_empty(),
                "fixture {rel} breaks contract {contract}: {errs:?}"
            );
        }
    }
    spec.write(ws).expect("write the bundle")
}

/// The demo bundle (ten actions, every outcome) as run `run_id` in `ws`.
pub fn demo(ws: &Path, run_id: &str) -> PathBuf {
    write(&BundleSpec::demo(run_id), ws)
}

/// Run the reporting stage on `run_dir` in process: (exit code, what it concluded).
pub fn report(run_dir: &Path, opts: &Options) -> (i32, Option<RunOutcome>) {
    let common = pa_stage::CommonArgs {
        run_dir: Some(run_dir.to_path_buf()),
        lock_held: false,
        log_format: pa_stage::LogFormat::Human,
        verbose: 0,
        quiet: 2,
    };
    let mut out = None;
    let code = pa_stage::run_stage(Stage::Reporting, &common, |ctx| {
        pa_reporting::run(ctx, opts, &mut out)
    });
    (code, out)
}

/// Read a JSON file.
pub fn json(p: &Path) -> Value {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The recorded outcome of `stage` in the bundle's manifest.
pub fn outcome(run_dir: &Path, stage: &str) -> Value {
    json(&run_dir.join("manifest.json"))["stage_outcomes"]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["stage"] == stage).cloned())
        .unwrap_or(Value::Null)
}

/// Validate a published JSON artifact against its contract.
pub fn assert_contract(contract: &str, v: &Value) {
    let errs = pa_bundle::contracts::validate_value(contract, v).unwrap();
    assert!(errs.is_empty(), "{contract}: {errs:?}");
}
