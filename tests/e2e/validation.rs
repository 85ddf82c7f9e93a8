//! The validation stage end to end with the real executables: the replay-evtx example's
//! actions all find their expected telemetry, re-running `pa-validate` on the bundle gives the
//! same bytes, and a broken criteria pack degrades the run (warn_and_skip) without stopping it.

use assert_cmd::Command;
use pa_e2e::{repo_root, shared_data, workspace_bin};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn orchestrate(ws: &Path, range: &Path, scenario: &Path, code: i32) -> PathBuf {
    let out = Command::new(workspace_bin("pa-orchestrate"))
        .current_dir(repo_root())
        .args(["run", "--workspace"])
        .arg(ws)
        .arg("--range")
        .arg(range)
        .arg("--scenario")
        .arg(scenario)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    PathBuf::from(
        text.lines()
            .last()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no run directory in {text}")),
    )
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn outcome(run: &Path, stage: &str) -> Value {
    json(&run.join("manifest.json"))["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == stage)
        .cloned()
        .unwrap_or_else(|| panic!("no {stage} outcome"))
}

const OUTPUTS: [&str; 3] = [
    "criteria/manifest.json",
    "criteria/criteria.jsonl",
    "criteria/results.jsonl",
];

#[test]
fn every_replay_evtx_action_passes_its_criteria() {
    shared_data();
    let ws = tempfile::tempdir().unwrap();
    let ex = repo_root().join("examples/replay-evtx");
    let run = orchestrate(
        ws.path(),
        &ex.join("range.yaml"),
        &ex.join("scenario.yaml"),
        // Partial: the example's scoring thresholds are not met (three of six detected).
        10,
    );
    let m = json(&run.join("manifest.json"));
    assert_eq!(m["status"], "partial", "{m}");
    assert_eq!(outcome(&run, "validation")["status"], "success");
    let stages: Vec<&str> = m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["stage"].as_str().unwrap())
        .collect();
    let pos = |s: &str| stages.iter().position(|x| *x == s).unwrap();
    assert!(pos("normalization") < pos("validation") && pos("validation") < pos("detection"));
    assert_eq!(m["versions"]["criteria_pack_id"], "replay-evtx");
    assert_eq!(m["versions"]["criteria_pack_version"], "1.0.0");

    let rows = lines(&run.join("criteria/results.jsonl"));
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["s1", "s2", "s3", "s4", "s5", "s6"]);
    for r in &rows {
        assert_eq!(r["status"], "pass", "{r}");
        assert_eq!(r["reason_code"], Value::Null);
        assert_eq!(r["run_id"], m["run_id"]);
        assert_eq!(r["criteria_ref"]["pack_id"], "replay-evtx");
        assert!(!r["signals"].as_array().unwrap().is_empty());
        for s in r["signals"].as_array().unwrap() {
            assert!(s["count"].as_u64().unwrap() >= 1, "{s}");
            for id in s["sample_event_ids"].as_array().unwrap() {
                assert!(id.as_str().unwrap().starts_with("pa:eid:v1:"), "{id}");
            }
        }
        let errs = pa_bundle::contracts::validate_value("criteria_result", r).unwrap();
        assert!(errs.is_empty(), "{errs:?}");
    }
    // s6 spans the recording (~95 min): its group change signal has a wider window.
    assert_eq!(rows[5]["time_window"]["after_seconds"], 5700);
    assert_eq!(
        rows[0]["time_window"]["start_time_utc"],
        "2019-08-30T12:54:02.000Z"
    );
    assert_eq!(lines(&run.join("criteria/criteria.jsonl")).len(), 6);
    let cm = json(&run.join("criteria/manifest.json"));
    assert_eq!(cm["counts"]["pass"], 6);
    assert_eq!(
        cm["packs"][0]["file"],
        "../../mappings/criteria/replay-evtx.yaml"
    );

    // Re-running the stage on the bundle gives byte-identical outputs.
    let before: Vec<Vec<u8>> = OUTPUTS
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    Command::new(workspace_bin("pa-validate"))
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(0);
    let after: Vec<Vec<u8>> = OUTPUTS
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    assert!(before == after, "criteria outputs changed on re-run");
}

#[test]
fn a_broken_pack_degrades_the_run_and_detection_still_runs() {
    let data = shared_data().canonicalize().unwrap();
    let ex = repo_root().join("examples/replay-evtx");
    let tmp = tempfile::tempdir().unwrap();
    // The example's range with absolute paths and a pack with an unknown key on line 9.
    let pack =
        std::fs::read_to_string(repo_root().join("mappings/criteria/replay-evtx.yaml")).unwrap();
    let lines_of: Vec<&str> = pack.lines().collect();
    let at = lines_of
        .iter()
        .position(|l| l.starts_with("  - entry_id:"))
        .unwrap();
    let mut broken: Vec<String> = lines_of.iter().map(|l| l.to_string()).collect();
    broken.insert(at + 1, "    colour: red".into());
    std::fs::write(tmp.path().join("broken.yaml"), broken.join("\n")).unwrap();
    let range = std::fs::read_to_string(ex.join("range.yaml"))
        .unwrap()
        .replace("../../../shared/data", &data.to_string_lossy())
        .replace("../../mappings/criteria/replay-evtx.yaml", "broken.yaml")
        .replace(
            "ground_truth: ground_truth.jsonl",
            &format!(
                "ground_truth: {}",
                ex.join("ground_truth.jsonl")
                    .canonicalize()
                    .unwrap()
                    .display()
            ),
        );
    std::fs::write(tmp.path().join("range.yaml"), range).unwrap();
    let ws = tempfile::tempdir().unwrap();
    let run = orchestrate(
        ws.path(),
        &tmp.path().join("range.yaml"),
        &ex.join("scenario.yaml"),
        10,
    );
    let o = outcome(&run, "validation");
    assert_eq!(o["status"], "failed");
    assert_eq!(o["fail_mode"], "warn_and_skip");
    assert_eq!(o["reason_code"], "criteria_pack_error");
    let msg = o["message"].as_str().unwrap();
    assert!(msg.contains(&format!("broken.yaml:{}:", at + 2)), "{msg}");
    assert!(msg.contains("colour"), "{msg}");
    assert_eq!(json(&run.join("manifest.json"))["status"], "partial");
    assert_eq!(outcome(&run, "detection")["status"], "success");
    for f in OUTPUTS {
        assert!(!run.join(f).exists(), "{f} published after a failure");
    }
}
