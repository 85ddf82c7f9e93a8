//! The shipped default example runs end to end with the real stage executables.

use assert_cmd::Command;
use pa_e2e::{repo_root, workspace_bin};
use serde_json::Value;

/// Run the shipped replay example into `ws`, expecting exit `code`; its run directory.
fn run_replay_example(ws: &std::path::Path, code: i32) -> String {
    pa_e2e::run_replay_example(ws, code).display().to_string()
}

#[test]
fn the_replay_evtx_example_runs_with_the_real_stages() {
    let ws = tempfile::tempdir().unwrap();
    let run_dir = run_replay_example(ws.path(), 10);
    let m: Value =
        serde_json::from_slice(&std::fs::read(format!("{run_dir}/manifest.json")).unwrap())
            .unwrap();
    // Judged honestly: three of six actions detected, thresholds not met → partial (exit 10).
    assert_eq!(m["status"], "partial");
    assert_eq!(
        m["scenario"]["techniques"],
        serde_json::json!([
            "T1003.001",
            "T1053.005",
            "T1070.001",
            "T1136.001",
            "T1548.002"
        ])
    );
    let stages: Vec<&str> = m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"lab_provider"), "{stages:?}");
    assert!(stages.contains(&"runner"), "{stages:?}");
    let gt = std::fs::read_to_string(format!("{run_dir}/ground_truth.jsonl")).unwrap();
    let rows: Vec<Value> = gt
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[0]["action_id"], "s1");
    assert_eq!(rows[0]["target_asset_id"], "msedgewin10");
    assert_eq!(rows[0]["timestamp_utc"], "2019-08-30T12:54:07.000Z");
    assert_eq!(rows[0]["action_key"].as_str().unwrap().len(), 64);
    let snap: Value = serde_json::from_slice(
        &std::fs::read(format!("{run_dir}/logs/lab_inventory_snapshot.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(snap["assets"].as_array().unwrap().len(), 6);

    // Telemetry: every record of the six recordings is accounted for and lands in raw_parquet.
    assert!(stages.contains(&"telemetry"), "{stages:?}");
    let tv: Value = serde_json::from_slice(
        &std::fs::read(format!("{run_dir}/logs/telemetry_validation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(tv["totals"]["records_read"], 33, "{tv}");
    assert_eq!(tv["totals"]["records_kept"], 33, "{tv}");
    assert_eq!(tv["sources"].as_array().unwrap().len(), 6);
    let mut raw_rows = 0;
    for src in tv["sources"].as_array().unwrap() {
        let dir = format!("{run_dir}/{}", src["dataset"].as_str().unwrap());
        assert!(std::path::Path::new(&format!("{dir}/_schema.json")).is_file());
        let rows: Vec<_> = pa_store::raw::RawReader::open(std::path::Path::new(&dir))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len() as u64, src["records_kept"].as_u64().unwrap());
        for r in &rows {
            assert_eq!(r.asset_id, src["asset_id"].as_str().unwrap());
            assert!(r.raw.contains("<Event"), "{}", r.raw);
            assert_eq!(r.raw_sha256, pa_canon::sha256_prefixed(r.raw.as_bytes()));
        }
        raw_rows += rows.len();
    }
    assert_eq!(raw_rows, 33);

    // Normalization: every record became an OCSF event in the sorted store.
    let events = pa_store::events::EventReader::open(std::path::Path::new(&format!(
        "{run_dir}/normalized/ocsf_events"
    )))
    .unwrap()
    .events()
    .unwrap();
    assert_eq!(events.len(), 33);
    let keys: Vec<(i64, String)> = events
        .iter()
        .map(|e| {
            (
                e["time"].as_i64().unwrap(),
                e["metadata"]["uid"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "store not sorted");
    assert!(keys.iter().all(|k| k.1.starts_with("pa:eid:v1:")));
    for e in &events {
        assert!(
            pa_ocsf_schema::reference()
                .class(e["class_uid"].as_u64().unwrap() as u32)
                .is_some()
        );
    }
    for f in [
        "normalized/mapping_profile_snapshot.json",
        "normalized/mapping_coverage.json",
    ] {
        assert!(
            std::path::Path::new(&format!("{run_dir}/{f}")).is_file(),
            "{f}"
        );
    }

    // Detection: the SigmaHQ Windows rules see the credential dumping, the log clearing and
    // the UAC change the recordings show.
    let det = std::fs::read_to_string(format!("{run_dir}/detections/detections.jsonl")).unwrap();
    let rows: Vec<Value> = det
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let titles: Vec<&str> = rows
        .iter()
        .map(|r| r["rule_title"].as_str().unwrap())
        .collect();
    for want in [
        "Process Memory Dump Via Comsvcs.DLL",
        "Process Memory Dump via RdrLeakDiag.EXE",
        "UAC Disabled",
        "Important Windows Eventlog Cleared",
    ] {
        assert!(titles.contains(&want), "{want} not in {titles:?}");
    }
    let ids: std::collections::BTreeSet<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    for r in &rows {
        assert!(ids.contains(r["matched_event_ids"][0].as_str().unwrap()));
    }
    let mut sorted = rows.clone();
    sorted.sort_by_key(|r| r["rule_id"].as_str().unwrap().to_string());
    assert_eq!(sorted, rows, "detections sorted by rule_id");
    // Scoring: which actions were detected, and the layer that lost each of the others.
    let sum: Value =
        serde_json::from_slice(&std::fs::read(format!("{run_dir}/scoring/summary.json")).unwrap())
            .unwrap();
    let judged: Vec<(String, bool, Option<String>)> = sum["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action_id"].as_str().unwrap().to_string(),
                a["detected"].as_bool().unwrap(),
                a["gap"]["category"].as_str().map(str::to_string),
            )
        })
        .collect();
    let g = |c: &str| Some(c.to_string());
    assert_eq!(
        judged,
        [
            ("s1".to_string(), true, None),
            ("s2".to_string(), true, None),
            ("s3".to_string(), false, g("bridge_gap_mapping")),
            ("s4".to_string(), true, None),
            ("s5".to_string(), false, g("rule_logic_gap")),
            ("s6".to_string(), false, g("rule_logic_gap")),
        ]
    );
    let s3 = sum["actions"][2]["gap"]["summary"].as_str().unwrap();
    assert!(
        s3.contains("Important Windows Eventlog Cleared (T1685.005)"),
        "{s3}"
    );
    let thresholds = m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == "scoring.thresholds")
        .unwrap();
    assert_eq!(thresholds["reason_code"], "threshold_violated");
    let rr: Value =
        serde_json::from_slice(&std::fs::read(format!("{run_dir}/run_results.json")).unwrap())
            .unwrap();
    assert_eq!(rr["exit_code"], 10);
    assert_eq!(rr["metrics"]["technique_coverage_rate"], 0.4);
    assert_eq!(rr["counts"]["actions"], 6);
}

#[test]
fn every_shipped_example_config_decodes() {
    // A range example has a range and a scenario (either one alone is an error); other
    // examples (`scale-out`: a Spark job) have neither.
    let mut ranges = 0;
    for entry in std::fs::read_dir(repo_root().join("examples")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() || !(dir.join("range.yaml").exists() || dir.join("scenario.yaml").exists())
        {
            continue;
        }
        pa_config::RangeConfig::load(&dir.join("range.yaml")).unwrap_or_else(|e| panic!("{e}"));
        pa_config::ScenarioConfig::load(&dir.join("scenario.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
        ranges += 1;
    }
    assert!(ranges >= 2, "only {ranges} range examples found");
}

#[test]
fn rescoring_a_bundle_gives_the_same_summary_but_for_its_generation_time() {
    let ws = tempfile::tempdir().unwrap();
    let run_dir = run_replay_example(ws.path(), 10);
    let read = || {
        let mut v: Value = serde_json::from_slice(
            &std::fs::read(format!("{run_dir}/scoring/summary.json")).unwrap(),
        )
        .unwrap();
        v["generated_at_utc"] = Value::Null;
        pa_canon::jcs(&v).unwrap()
    };
    let first = read();
    // Re-run only scoring on the same bundle (exit 10: the example's thresholds are not met).
    Command::new(workspace_bin("pa-score"))
        .arg("--run-dir")
        .arg(&run_dir)
        .assert()
        .code(10);
    assert_eq!(first, read(), "re-scoring changed the summary");
}
