//! Hand-built cases: one action for each status and reason code, checked against the result
//! contract and against the row vocabulary of the reference fixture
//! (`purple-axiom-ref/fixtures/criteria/results.jsonl`).

use crate::common::{self, gt_row, jsonl, phase};
use pa_criteria::{Defaults, Event, parse_pack};
use pa_validation::{Outputs, evaluate, parse_ground_truth};
use serde_json::{Value, json};
use std::path::Path;

pub const PACK: &str = "\
pack_id: cases
pack_version: 0.1.0
entries:
  - entry_id: c-pass
    engine: atomic
    technique_id: T1082
    engine_test_id: g-pass
    expected_signals:
      - signal_id: uname
        predicate: {class_uid: 1007, constraints: [{field: process.cmd_line, op: equals, value: uname -a}]}
  - entry_id: c-pass-linux
    engine: atomic
    technique_id: T1082
    engine_test_id: g-pass
    selectors: {os: linux}
    expected_signals:
      - signal_id: output-file
        predicate: {class_uid: 1001, constraints: [{field: file.path, op: equals, value: /tmp/T1082.txt}]}
      - signal_id: uname
        predicate: {class_uid: 1007, constraints: [{field: process.cmd_line, op: equals, value: uname -a}]}
  - entry_id: c-fail
    engine: atomic
    technique_id: T1083
    engine_test_id: g-fail
    expected_signals:
      - signal_id: find
        predicate: {class_uid: 1007, constraints: [{field: process.cmd_line, op: equals, value: find . -type f}]}
      - signal_id: listing-file
        predicate: {class_uid: 1001, constraints: [{field: file.path, op: equals, value: /tmp/T1083.txt}]}
  - entry_id: c-not-executed
    engine: recorded
    technique_id: T1057
    engine_test_id: recorded:a4
    expected_signals:
      - signal_id: ps
        predicate: {class_uid: 1007, constraints: [{field: process.cmd_line, op: equals, value: ps aux}]}
  - entry_id: c-prepare-failed
    engine: atomic
    technique_id: T1027
    engine_test_id: g-prep
    expected_signals:
      - signal_id: base64
        predicate: {class_uid: 1007, constraints: [{field: process.cmd_line, op: equals, value: base64 -d}]}
";

/// The actions' execute start times (ms).
pub const T1: i64 = 1_800_000_000_000;
pub const T2: i64 = T1 + 600_000;
pub const T3: i64 = T1 + 1_200_000;

fn exec(uid: &str, t: i64, cmd: &str) -> Value {
    json!({"class_uid": 1007, "time": t, "metadata": {"uid": uid}, "process": {"cmd_line": cmd}})
}

fn file(uid: &str, t: i64, path: &str) -> Value {
    json!({"class_uid": 1001, "time": t, "metadata": {"uid": uid}, "file": {"path": path}})
}

/// The ground truth of the six cases (in no particular order: rows are sorted by the stage).
pub fn ground_truth() -> String {
    let ok = |t: i64| {
        vec![
            phase("prepare", "success", Some(t - 2_000)),
            phase("execute", "success", Some(t)),
            phase("revert", "success", Some(t + 1_000)),
            phase("teardown", "skipped", None),
        ]
    };
    jsonl(&[
        gt_row("a5", "atomic", "T1016", "g-none", "linux", ok(T3)),
        gt_row("a1", "atomic", "T1082", "g-pass", "linux", ok(T1)),
        gt_row("a2", "atomic", "T1082", "g-pass", "windows", ok(T2)),
        gt_row(
            "a3",
            "atomic",
            "T1083",
            "g-fail",
            "linux",
            vec![
                phase("prepare", "success", Some(T3)),
                phase("execute", "failed", Some(T3)),
                phase("revert", "failed", Some(T3 + 5_000)),
                phase("teardown", "skipped", None),
            ],
        ),
        gt_row(
            "a4",
            "recorded",
            "T1057",
            "recorded:a4",
            "linux",
            vec![
                phase("prepare", "skipped", None),
                phase("execute", "skipped", None),
                phase("revert", "skipped", None),
                phase("teardown", "skipped", None),
            ],
        ),
        gt_row(
            "a6",
            "atomic",
            "T1027",
            "g-prep",
            "linux",
            vec![
                phase("prepare", "failed", Some(T1)),
                phase("execute", "skipped", None),
                phase("revert", "skipped", None),
                phase("teardown", "skipped", None),
            ],
        ),
    ])
}

/// Events for the cases: a1 (linux) sees uname and its file, a2 (windows: the linux entry does
/// not apply) sees uname, a3 sees find but not its file; base64 -d near a6 does not matter.
pub fn events() -> Vec<Value> {
    vec![
        exec("e-01", T1 + 100, "uname -a"),
        file("e-02", T1 + 200, "/tmp/T1082.txt"),
        exec("e-03", T1 + 300, "base64 -d"),
        exec("e-04", T2 - 4_000, "uname -a"),
        exec("e-05", T2 + 121_000, "uname -a"),
        exec("e-06", T3 + 1_000, "find . -type f"),
        exec("e-07", T3 + 2_000, "find . -type f"),
        file("e-08", T3 + 3_000, "/tmp/other.txt"),
    ]
}

fn outputs() -> Outputs {
    let pack = parse_pack(Path::new("cases.yaml"), PACK.as_bytes()).expect("pack");
    let gt = parse_ground_truth(Path::new("ground_truth.jsonl"), &ground_truth()).expect("gt");
    let evs = events();
    evaluate(&gt, &[pack], Defaults::default(), |ev| {
        for e in &evs {
            if ev.wants(e.class_uid().unwrap(), e.time_ms().unwrap()) {
                ev.observe(e);
            }
        }
        Ok(evs.len() as u64)
    })
    .expect("evaluate")
}

fn rows(o: &Outputs) -> Vec<Value> {
    o.results_jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

#[test]
fn every_status_and_reason_code() {
    let o = outputs();
    let rows = rows(&o);
    let got: Vec<(&str, &str, Value)> = rows
        .iter()
        .map(|r| {
            (
                r["action_id"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["reason_code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a1", "pass", Value::Null),
            ("a2", "pass", Value::Null),
            ("a3", "fail", json!("missing_expected_signal")),
            ("a4", "skipped", json!("action_not_executed")),
            ("a5", "skipped", json!("criteria_unavailable")),
            ("a6", "skipped", json!("action_failed_before_evaluation")),
        ]
    );
    for r in &rows {
        assert_eq!(r["reason_domain"], "criteria_result");
        assert_eq!(r["run_id"], common::RUN_ID);
        let errs = pa_bundle::contracts::validate_value("criteria_result", r).unwrap();
        assert!(errs.is_empty(), "{r}: {errs:?}");
    }
    // a1 is linux: the entry with the os selector wins over the one without.
    assert_eq!(rows[0]["criteria_ref"]["entry_id"], "c-pass-linux");
    assert_eq!(rows[0]["signals"][0]["signal_id"], "output-file");
    assert_eq!(rows[0]["signals"][0]["sample_event_ids"], json!(["e-02"]));
    assert_eq!(
        rows[0]["cleanup"],
        json!({"invoked": true, "status": "success", "verification_status": "skipped"})
    );
    // a2 is windows: the linux entry is ineligible. Its window is [T2-5s, T2+120s]: e-04 is
    // inside, e-05 is 1 s too late.
    assert_eq!(rows[1]["criteria_ref"]["entry_id"], "c-pass");
    assert_eq!(rows[1]["signals"][0]["count"], 1);
    assert_eq!(rows[1]["signals"][0]["sample_event_ids"], json!(["e-04"]));
    assert_eq!(
        rows[1]["time_window"],
        json!({"start_time_utc": pa_canon::format_utc_millis(T2 - 5_000),
               "end_time_utc": pa_canon::format_utc_millis(T2 + 120_000),
               "before_seconds": 5, "after_seconds": 120})
    );
    // a3: execute failed but ran, so it is evaluated; its file never appeared.
    let sig: Vec<(Value, Value, Value)> = rows[2]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["signal_id"].clone(),
                s["count"].clone(),
                s["pass"].clone(),
            )
        })
        .collect();
    assert_eq!(
        sig,
        [
            (json!("find"), json!(2), json!(true)),
            (json!("listing-file"), json!(0), json!(false))
        ]
    );
    assert_eq!(
        rows[2]["cleanup"],
        json!({"invoked": true, "status": "failed", "verification_status": "skipped"})
    );
    // Skipped rows: no signals, no window; the entry is still named when one applies.
    for r in &rows[3..] {
        assert_eq!(r["signals"], json!([]));
        assert_eq!(r["time_window"], Value::Null);
    }
    assert_eq!(rows[3]["criteria_ref"]["entry_id"], "c-not-executed");
    assert_eq!(
        rows[3]["cleanup"],
        json!({"invoked": false, "status": "skipped", "verification_status": "skipped"})
    );
    assert_eq!(rows[4]["criteria_ref"], Value::Null);
    assert_eq!(rows[5]["criteria_ref"]["entry_id"], "c-prepare-failed");
    // criteria.jsonl: the entries some action selected, sorted, each with its pack.
    let entries: Vec<Value> = o
        .criteria_jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "c-fail",
            "c-not-executed",
            "c-pass",
            "c-pass-linux",
            "c-prepare-failed"
        ]
    );
    for e in &entries {
        assert_eq!(e["pack_id"], "cases");
        let errs = pa_bundle::contracts::validate_value("criteria_entry", e).unwrap();
        assert!(errs.is_empty(), "{e}: {errs:?}");
    }
    let errs = pa_bundle::contracts::validate_value("criteria_pack_manifest", &o.manifest).unwrap();
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        o.manifest["counts"],
        json!({"actions": 6, "pass": 2, "fail": 1, "skipped": 3})
    );
    // Canonical JSON lines.
    for l in o.results_jsonl.lines().chain(o.criteria_jsonl.lines()) {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(pa_canon::jcs_string(&v).unwrap(), l);
    }
    // evidence: the row itself, the action's ground-truth line, the entry's criteria line.
    assert_eq!(
        rows[2]["evidence_refs"],
        json!([
            {"artifact_path": "criteria/criteria.jsonl", "selector": "jsonl_line:1"},
            {"artifact_path": "criteria/results.jsonl", "selector": "jsonl_line:3"},
            {"artifact_path": "ground_truth.jsonl", "selector": "jsonl_line:4"},
        ])
    );
}

/// The reference fixture's rows (a1, a2 pass; a3 fail `missing_expected_signal`; a4 skipped
/// because the action did not run; a5 skipped `criteria_unavailable`, each pointing at its own
/// line of `criteria/results.jsonl`) come out of the same situations here. The fixture spells
/// the not-run skip `action_skipped`; SPEC §7 and scoring use `action_not_executed`.
#[test]
fn the_reference_fixture_vocabulary_is_reproduced() {
    let text = std::fs::read_to_string(common::data(
        "purple-axiom-ref/fixtures/criteria/results.jsonl",
    ))
    .unwrap();
    let fixture: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(fixture.len(), 5);
    let ours = rows(&outputs());
    for (i, f) in fixture.iter().enumerate() {
        let r = ours
            .iter()
            .find(|r| r["action_id"] == f["action_id"])
            .unwrap_or_else(|| panic!("no row for {}", f["action_id"]));
        assert_eq!(r["scenario_id"], f["scenario_id"]);
        assert_eq!(r["status"], f["status"], "{}", f["action_id"]);
        let want_code = match f["reason_code"].as_str() {
            Some("action_skipped") => json!("action_not_executed"),
            _ => f["reason_code"].clone(),
        };
        assert_eq!(r["reason_code"], want_code, "{}", f["action_id"]);
        // Same evidence shape, and the fixture's own-line reference is among ours.
        let mine = r["evidence_refs"].as_array().unwrap();
        for e in mine {
            let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, ["artifact_path", "selector"]);
        }
        for e in f["evidence_refs"].as_array().unwrap() {
            assert!(mine.contains(e), "{}: {e} not in {mine:?}", f["action_id"]);
        }
        assert_eq!(
            f["evidence_refs"][0]["selector"],
            format!("jsonl_line:{}", i + 1)
        );
    }
}
