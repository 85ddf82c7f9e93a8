//! The stage protocol around reporting: exit codes, recorded outcomes, required inputs,
//! determinism.

use crate::common::{self, RUN_A};
use pa_reporting::Options;
use pa_reporting::synthetic::{BundleSpec, SynthOutcome};
use std::collections::BTreeMap;
use std::path::Path;

const OUTPUTS: [&str; 6] = [
    "report/report.json",
    "report/thresholds.json",
    "report/run_timeline.md",
    "report/report.html",
    "report/junit.xml",
    "report/attack_layer.json",
];

fn read_outputs(run: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    OUTPUTS
        .iter()
        .map(|p| {
            (
                *p,
                std::fs::read(run.join(p)).unwrap_or_else(|e| panic!("{p}: {e}")),
            )
        })
        .collect()
}

/// The demo with every executed action detected and no false positive.
pub fn all_detected(run_id: &str) -> BundleSpec {
    let mut spec = BundleSpec::demo(run_id);
    for a in &mut spec.actions {
        if let SynthOutcome::Gap { .. } = a.outcome {
            a.outcome = SynthOutcome::Detected {
                rule_id: format!("rule-{}", a.action_id),
                rule_title: format!("Rule for {}", a.technique_id),
                attribution: "exact",
                latency: 2.5,
            };
        }
    }
    spec.unattributed.clear();
    spec
}

#[test]
fn failed_gates_nobody_recorded_make_the_run_partial_with_thresholds_not_met() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    let (code, out) = common::report(&run, &Options::default());
    assert_eq!(code, 10);
    assert_eq!(out.unwrap().status, "partial");
    assert_eq!(common::outcome(&run, "reporting")["status"], "success");
    let o = common::outcome(&run, "reporting.thresholds");
    assert_eq!(o["status"], "failed");
    assert_eq!(o["fail_mode"], "warn_and_skip");
    assert_eq!(o["reason_code"], "thresholds_not_met");
    let msg = o["message"].as_str().unwrap();
    assert!(
        msg.contains("min_technique_coverage: 0.375 is below the minimum 0.75"),
        "{msg}"
    );
    let m = common::json(&run.join("manifest.json"));
    assert_eq!(m["status"], "partial");
    assert_eq!(
        common::json(&run.join("run_results.json"))["status"],
        "partial"
    );
    for p in OUTPUTS {
        assert!(run.join(p).is_file(), "{p} not published");
    }
}

#[test]
fn gates_scoring_recorded_are_not_recorded_twice() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    // What pa-score records when a gate fails.
    let mp = run.join("manifest.json");
    let mut m = common::json(&mp);
    m["stage_outcomes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "stage": "scoring.thresholds", "status": "failed", "fail_mode": "warn_and_skip",
            "reason_code": "threshold_violated", "message": "threshold(s) not met"
        }));
    m["status"] = "partial".into();
    std::fs::write(&mp, serde_json::to_vec(&m).unwrap()).unwrap();
    let (code, out) = common::report(&run, &Options::default());
    assert_eq!(code, 0, "the run is already partial through scoring");
    assert_eq!(out.unwrap().status, "partial", "the report still says why");
    assert_eq!(common::outcome(&run, "reporting")["status"], "success");
    assert_eq!(
        common::outcome(&run, "reporting.thresholds"),
        serde_json::Value::Null
    );
    assert_eq!(common::json(&mp)["status"], "partial");
    // A regression alert is reporting's own: recorded even then.
    let other = tempfile::tempdir().unwrap();
    let base = common::write(&all_detected(common::RUN_B), other.path());
    let opts = Options {
        baseline: Some(base),
        ..Options::default()
    };
    assert_eq!(common::report(&run, &opts).0, 10);
    let t = common::outcome(&run, "reporting.thresholds");
    let msg = t["message"].as_str().unwrap();
    assert!(
        msg.contains("newly missed") && !msg.contains("min_technique_coverage"),
        "{msg}"
    );
}

#[test]
fn every_gate_passing_is_success_and_exit_0() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::write(&all_detected(RUN_A), ws.path());
    let (code, out) = common::report(&run, &Options::default());
    assert_eq!(code, 0);
    assert_eq!(out.unwrap().status, "success");
    assert_eq!(common::outcome(&run, "reporting")["status"], "success");
    assert_eq!(
        common::outcome(&run, "reporting.thresholds"),
        serde_json::Value::Null
    );
    let th = common::json(&run.join("report/thresholds.json"));
    assert_eq!(th["overall_pass"], true);
    assert_eq!(th["status_recommendation"], "success");
    assert_eq!(
        common::json(&run.join("report/report.json"))["status"],
        "success"
    );
}

#[test]
fn a_missing_summary_fails_closed_naming_it() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    std::fs::remove_file(run.join("scoring/summary.json")).unwrap();
    let (code, out) = common::report(&run, &Options::default());
    assert_eq!(code, 20);
    assert!(out.is_none());
    let o = common::outcome(&run, "reporting");
    assert_eq!(o["reason_code"], "input_missing");
    assert_eq!(o["fail_mode"], "fail_closed");
    assert!(
        o["message"]
            .as_str()
            .unwrap()
            .contains("scoring/summary.json"),
        "{o}"
    );
    assert!(!run.join("report").exists(), "nothing may be published");
}

#[test]
fn a_summary_breaking_its_contract_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    let p = run.join("scoring/summary.json");
    let mut v = common::json(&p);
    v["metrics"]["technique_coverage_rate"] = serde_json::json!(1.5);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let (code, _) = common::report(&run, &Options::default());
    assert_eq!(code, 20);
    let o = common::outcome(&run, "reporting");
    assert_eq!(o["reason_code"], "contract_validation_failed");
    let msg = o["message"].as_str().unwrap();
    assert!(msg.contains("/metrics/technique_coverage_rate"), "{msg}");
}

#[test]
fn a_summary_of_another_run_is_refused() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    let other = tempfile::tempdir().unwrap();
    let b = common::demo(other.path(), common::RUN_B);
    std::fs::copy(
        b.join("scoring/summary.json"),
        run.join("scoring/summary.json"),
    )
    .unwrap();
    let (code, _) = common::report(&run, &Options::default());
    assert_eq!(code, 20);
    let msg = common::outcome(&run, "reporting")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains(common::RUN_B) && msg.contains(RUN_A), "{msg}");
}

#[test]
fn re_running_gives_the_same_bytes_but_the_timestamps() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    assert_eq!(common::report(&run, &Options::default()).0, 10);
    let first = read_outputs(&run);
    // A second run replaces reporting's own outcome; nothing it reads changed.
    assert_eq!(common::report(&run, &Options::default()).0, 10);
    let second = read_outputs(&run);
    for p in OUTPUTS {
        let (a, b) = (&first[p], &second[p]);
        if p.ends_with(".json") {
            let strip = |bytes: &[u8]| {
                let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                if let Some(o) = v.as_object_mut() {
                    o.remove("generated_at_utc");
                    o.remove("evaluated_at_utc");
                }
                String::from_utf8(pa_canon::jcs_value(&v).unwrap()).unwrap()
            };
            assert_eq!(
                strip(a),
                strip(b),
                "{p} differs beyond its volatile timestamp"
            );
            assert_eq!(
                &pa_canon::jcs_value(&serde_json::from_slice(a).unwrap()).unwrap(),
                a,
                "{p} is not RFC 8785"
            );
        } else {
            assert!(a == b, "{p} differs between two runs");
        }
    }
}

#[test]
fn no_html_skips_the_page_and_removes_an_old_one() {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    common::report(&run, &Options::default());
    assert!(run.join("report/report.html").is_file());
    let opts = Options {
        no_html: true,
        ..Options::default()
    };
    assert_eq!(common::report(&run, &opts).0, 10);
    assert!(!run.join("report/report.html").exists());
    assert!(run.join("report/report.json").is_file());
}
