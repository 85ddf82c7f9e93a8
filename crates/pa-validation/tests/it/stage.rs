//! The stage function on a run bundle: contracted outputs, determinism, and the stage's own
//! reason codes.

use crate::cases;
use crate::common::Bundle;
use serde_json::{Value, json};

const RANGE: &str = "\
range_id: cases
lab: {provider: local, assets: [{asset_id: host-1, os: linux, role: workstation}]}
validation:
  criteria_packs: [cases.yaml]
";

/// A directory holding the cases pack (the range's relative paths resolve there).
fn pack_dir(pack: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("cases.yaml"), pack).unwrap();
    d
}

const OUTPUTS: [&str; 3] = [
    "criteria/manifest.json",
    "criteria/criteria.jsonl",
    "criteria/results.jsonl",
];

#[test]
fn outputs_are_published_contracted_and_identical_on_rerun() {
    let packs = pack_dir(cases::PACK);
    let gt = cases::ground_truth();
    let b = Bundle::new(RANGE, packs.path(), Some(&gt), Some(&cases::events()));
    assert_eq!(b.validate(), 0);
    let o = b.outcome();
    assert_eq!(o["status"], "success", "{o}");
    let first: Vec<String> = OUTPUTS.iter().map(|f| b.read(f)).collect();
    let results: Vec<Value> = first[2]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 6);
    assert_eq!(results[0]["status"], "pass");
    let manifest: Value = serde_json::from_str(&first[0]).unwrap();
    assert_eq!(
        manifest["packs"],
        json!([{
            "pack_id": "cases", "pack_version": "0.1.0", "file": "cases.yaml",
            "sha256": pa_canon::sha256_prefixed(cases::PACK.as_bytes()), "entry_count": 5
        }])
    );
    assert_eq!(
        manifest["criteria_sha256"],
        pa_canon::sha256_prefixed(first[1].as_bytes())
    );
    assert!(
        !first[0].ends_with('\n'),
        "canonical JSON has no trailing newline"
    );
    let m = b.manifest();
    assert_eq!(m["versions"]["criteria_pack_id"], "cases");
    assert_eq!(m["versions"]["criteria_pack_version"], "0.1.0");
    assert_eq!(
        m["versions"]["criteria_sha256"],
        manifest["criteria_sha256"]
    );
    // Re-run on the same bundle: byte-identical outputs.
    assert_eq!(b.validate(), 0);
    let second: Vec<String> = OUTPUTS.iter().map(|f| b.read(f)).collect();
    assert_eq!(first, second);
}

#[test]
fn a_pack_that_does_not_decode_is_criteria_pack_error_naming_file_and_line() {
    let bad = cases::PACK.replace(
        "    engine_test_id: g-fail\n",
        "    engine_test_id: g-fail\n    colour: red\n",
    );
    let packs = pack_dir(&bad);
    let gt = cases::ground_truth();
    let b = Bundle::new(RANGE, packs.path(), Some(&gt), Some(&cases::events()));
    assert_eq!(b.validate(), 10, "warn_and_skip by default");
    let o = b.outcome();
    assert_eq!(o["status"], "failed");
    assert_eq!(o["fail_mode"], "warn_and_skip");
    assert_eq!(o["reason_code"], "criteria_pack_error");
    let msg = o["message"].as_str().unwrap();
    assert!(msg.contains("cases.yaml:"), "{msg}");
    assert!(msg.contains("colour"), "{msg}");
    let line = cases::PACK
        .lines()
        .position(|l| l == "    engine_test_id: g-fail")
        .unwrap()
        + 2;
    assert!(
        msg.contains(&format!("cases.yaml:{line}:")),
        "line {line}: {msg}"
    );
    assert_eq!(b.manifest()["status"], "partial");
    for f in OUTPUTS {
        assert!(!b.exists(f), "{f} published after a failure");
    }
}

#[test]
fn a_missing_pack_and_no_pack_are_criteria_pack_errors() {
    let packs = tempfile::tempdir().unwrap();
    let gt = cases::ground_truth();
    let b = Bundle::new(RANGE, packs.path(), Some(&gt), Some(&cases::events()));
    assert_eq!(b.validate(), 10);
    let o = b.outcome();
    assert_eq!(o["reason_code"], "criteria_pack_error");
    assert!(o["message"].as_str().unwrap().contains("cases.yaml"), "{o}");
    let none = RANGE.replace("  criteria_packs: [cases.yaml]\n", "  criteria_packs: []\n");
    let b = Bundle::new(&none, packs.path(), Some(&gt), Some(&cases::events()));
    assert_eq!(b.validate(), 10);
    let o = b.outcome();
    assert_eq!(o["reason_code"], "criteria_pack_error");
    assert!(
        o["message"]
            .as_str()
            .unwrap()
            .contains("validation.criteria_packs"),
        "{o}"
    );
}

#[test]
fn no_ground_truth_is_ground_truth_missing() {
    let packs = pack_dir(cases::PACK);
    let b = Bundle::new(RANGE, packs.path(), None, Some(&cases::events()));
    assert_eq!(b.validate(), 10);
    let o = b.outcome();
    assert_eq!(o["reason_code"], "ground_truth_missing");
    assert!(
        o["message"]
            .as_str()
            .unwrap()
            .contains("ground_truth.jsonl"),
        "{o}"
    );
    for f in OUTPUTS {
        assert!(!b.exists(f), "{f}");
    }
    let b = Bundle::new(
        RANGE,
        packs.path(),
        Some("{\"action_id\": 1}\n"),
        Some(&cases::events()),
    );
    assert_eq!(b.validate(), 10);
    let o = b.outcome();
    assert_eq!(o["reason_code"], "ground_truth_missing");
    assert!(
        o["message"]
            .as_str()
            .unwrap()
            .contains("ground_truth.jsonl:1:"),
        "{o}"
    );
}

#[test]
fn no_normalized_store_is_input_missing() {
    let packs = pack_dir(cases::PACK);
    let gt = cases::ground_truth();
    let b = Bundle::new(RANGE, packs.path(), Some(&gt), None);
    assert_eq!(b.validate(), 10);
    let o = b.outcome();
    assert_eq!(o["reason_code"], "input_missing");
    assert!(
        o["message"]
            .as_str()
            .unwrap()
            .contains("normalized/ocsf_events"),
        "{o}"
    );
}

#[test]
fn an_empty_ground_truth_gives_empty_results() {
    let packs = pack_dir(cases::PACK);
    let b = Bundle::new(RANGE, packs.path(), Some(""), Some(&cases::events()));
    assert_eq!(b.validate(), 0);
    assert_eq!(b.read("criteria/results.jsonl"), "");
    assert_eq!(b.read("criteria/criteria.jsonl"), "");
}
