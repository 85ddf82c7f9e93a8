//! Comparing a run with a baseline (`report.json` `regression`, the `regression_alert` gate,
//! the `reporting.regression_compare` substage, `inputs/baseline*`).

use crate::common::{self, RUN_A, RUN_B};
use pa_reporting::Options;
use pa_reporting::synthetic::{BundleSpec, DISCOVERY_RULE, SynthOutcome};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The demo, with the rule that detected T1082 gone from the rule set.
fn one_rule_less(run_id: &str) -> BundleSpec {
    let mut spec = BundleSpec::demo(run_id);
    spec.rule_set_sha256 = format!("sha256:{}", "cd".repeat(32));
    let a = spec
        .actions
        .iter_mut()
        .find(|a| a.technique_id == "T1082")
        .unwrap();
    a.outcome = SynthOutcome::Gap {
        category: "rule_logic_gap",
        summary: "14 events reached detection; no executable rule tagged T1082 matched".into(),
        evidence: serde_json::json!({"events_in_window": 14}),
    };
    spec
}

fn pair(candidate: &BundleSpec) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let ws = tempfile::tempdir().unwrap();
    let base = common::demo(ws.path(), RUN_A);
    let cand = common::write(candidate, ws.path());
    (ws, base, cand)
}

fn with_baseline(base: &Path) -> Options {
    Options {
        baseline: Some(base.to_path_buf()),
        ..Options::default()
    }
}

fn gate(run: &Path, id: &str) -> Value {
    common::json(&run.join("report/thresholds.json"))["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate_id"] == id)
        .cloned()
        .unwrap()
}

#[test]
fn one_rule_less_is_exactly_one_newly_missed_technique_and_an_alert() {
    let (_ws, base, cand) = pair(&one_rule_less(RUN_B));
    let (code, out) = common::report(&cand, &with_baseline(&base));
    assert_eq!(code, 10);
    let r = out.unwrap().regression.unwrap();
    assert!(r.regression_alerted);
    assert_eq!(
        r.comparability.status, "warning",
        "the rule set changed: compared, flagged"
    );
    assert_eq!(r.comparability.reason_code.as_deref(), Some("pin_mismatch"));
    let ch = &r.changes;
    assert_eq!(
        ch.techniques_newly_missed
            .iter()
            .map(|t| t.technique_id.as_str())
            .collect::<Vec<_>>(),
        ["T1082"]
    );
    assert_eq!(ch.techniques_newly_missed[0].rules, [DISCOVERY_RULE.0]);
    assert_eq!(
        ch.techniques_newly_missed[0].gap_categories,
        ["rule_logic_gap"]
    );
    assert!(ch.techniques_newly_detected.is_empty());
    assert_eq!(
        ch.rules_newly_missed
            .iter()
            .map(|r| r.rule_id.as_str())
            .collect::<Vec<_>>(),
        [DISCOVERY_RULE.0]
    );
    assert!(ch.rules_newly_matched.is_empty());
    assert_eq!(ch.actions_newly_missed, ["a09-systeminfo"]);
    assert!(
        r.alert_reasons
            .iter()
            .any(|a| a == "technique T1082 newly missed"),
        "{:?}",
        r.alert_reasons
    );
    let cov = r
        .deltas
        .iter()
        .find(|d| d.metric == "technique_coverage_rate")
        .unwrap();
    assert_eq!(
        (cov.baseline, cov.candidate, cov.delta, cov.alerted),
        (Some(0.375), Some(0.25), Some(-0.125), true)
    );

    let report = common::json(&cand.join("report/report.json"));
    common::assert_contract("report", &report);
    assert_eq!(report["regression"]["regression_alerted"], true);
    assert!(
        report["status_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["code"] == "regression_alert")
    );
    let g = gate(&cand, "regression_alert");
    assert_eq!(
        (g["pass"].clone(), g["actual"].clone()),
        (Value::Bool(false), serde_json::json!(2))
    );
    let sub = common::outcome(&cand, "reporting.regression_compare");
    assert_eq!(sub["status"], "success");
    let t = common::outcome(&cand, "reporting.thresholds");
    assert!(
        t["message"]
            .as_str()
            .unwrap()
            .contains("technique T1082 newly missed"),
        "{t}"
    );
    // The baseline's identity is pinned in the candidate.
    let bref = common::json(&cand.join("inputs/baseline_run_ref.json"));
    common::assert_contract("baseline_run_ref", &bref);
    assert_eq!(bref["baseline_run_id"], RUN_A);
    assert_eq!(
        std::fs::read(cand.join("inputs/baseline/manifest.json")).unwrap(),
        std::fs::read(base.join("manifest.json")).unwrap()
    );
    let html = std::fs::read_to_string(cand.join("report/report.html")).unwrap();
    assert!(html.contains("<section id=\"regression\">"));
    let text = pa_reporting::regression::to_text(&r, RUN_B);
    assert!(
        text.contains("newly missed techniques: T1082 (System Information Discovery)"),
        "{text}"
    );
    assert!(text.contains("result: REGRESSION (2 alert(s))"), "{text}");

    // Reporting again without a baseline drops the comparison and its pins.
    common::report(&cand, &Options::default());
    assert!(!cand.join("inputs/baseline_run_ref.json").exists());
    assert!(!cand.join("inputs/baseline/manifest.json").exists());
    assert_eq!(
        common::json(&cand.join("report/report.json"))["regression"],
        Value::Null
    );
    assert_eq!(
        common::outcome(&cand, "reporting.regression_compare"),
        Value::Null
    );
}

#[test]
fn the_same_results_are_no_regression() {
    let (_ws, base, cand) = pair(&BundleSpec::demo(RUN_B));
    let (_, out) = common::report(&cand, &with_baseline(&base));
    let r = out.unwrap().regression.unwrap();
    assert_eq!(
        r.comparability.status, "comparable",
        "{:?}",
        r.comparability_checks
    );
    assert!(!r.regression_alerted, "{:?}", r.alert_reasons);
    assert!(
        r.deltas
            .iter()
            .all(|d| d.delta == Some(0.0) || d.delta.is_none())
    );
    assert_eq!(gate(&cand, "regression_alert")["pass"], true);
    assert!(pa_reporting::regression::to_text(&r, RUN_B).contains("result: no regression"));
}

#[test]
fn another_scenario_is_not_comparable() {
    let mut spec = BundleSpec::demo(RUN_B);
    spec.scenario_id = "linux-discovery".into();
    let (_ws, base, cand) = pair(&spec);
    let (_, out) = common::report(&cand, &with_baseline(&base));
    let r = out.unwrap().regression.unwrap();
    assert_eq!(r.comparability.status, "indeterminate");
    assert_eq!(r.comparability.reason_code.as_deref(), Some("pin_mismatch"));
    assert!(r.deltas.is_empty() && !r.regression_alerted);
    let sub = common::outcome(&cand, "reporting.regression_compare");
    assert_eq!(
        (sub["status"].as_str(), sub["reason_code"].as_str()),
        (Some("failed"), Some("baseline_incompatible"))
    );
    assert_eq!(sub["fail_mode"], "warn_and_skip");
    assert_eq!(gate(&cand, "regression_alert")["pass"], Value::Null);
}

#[test]
fn mapping_drift_is_refused_unless_allowed() {
    let (_ws, base, cand) = pair(&BundleSpec::demo(RUN_B));
    let mp = cand.join("manifest.json");
    let mut m = common::json(&mp);
    m["versions"]["mapping_pack_sha256"] = Value::String(format!("sha256:{}", "00".repeat(32)));
    std::fs::write(&mp, serde_json::to_vec(&m).unwrap()).unwrap();
    let (_, out) = common::report(&cand, &with_baseline(&base));
    let r = out.unwrap().regression.unwrap();
    assert_eq!(
        r.comparability.reason_code.as_deref(),
        Some("drift_disallowed_by_policy")
    );
    assert!(r.comparability.message.contains("--allow-mapping-drift"));
    let opts = Options {
        allow_mapping_drift: true,
        ..with_baseline(&base)
    };
    let (_, out) = common::report(&cand, &opts);
    let r = out.unwrap().regression.unwrap();
    assert_eq!(r.comparability.status, "warning");
    let c = r
        .comparability_checks
        .iter()
        .find(|c| c.key == "mapping_pack_sha256")
        .unwrap();
    assert_eq!(
        (c.reason_code.as_str(), c.effect),
        ("pin_mismatch", "warning")
    );
}

#[test]
fn a_missing_baseline_is_a_degraded_comparison_not_a_failed_report() {
    let ws = tempfile::tempdir().unwrap();
    let cand = common::demo(ws.path(), RUN_B);
    let (code, out) = common::report(&cand, &with_baseline(&ws.path().join("runs/nope")));
    assert_eq!(code, 10);
    let r = out.unwrap().regression.unwrap();
    assert_eq!(
        r.comparability.reason_code.as_deref(),
        Some("baseline_missing")
    );
    let sub = common::outcome(&cand, "reporting.regression_compare");
    assert_eq!(sub["reason_code"], "baseline_missing");
    assert!(cand.join("report/report.json").is_file());
    assert!(!cand.join("inputs/baseline_run_ref.json").exists());
    // A baseline that was never scored says so.
    let unscored = common::demo(ws.path(), RUN_A);
    std::fs::remove_file(unscored.join("scoring/summary.json")).unwrap();
    let (_, out) = common::report(&cand, &with_baseline(&unscored));
    let r = out.unwrap().regression.unwrap();
    assert_eq!(
        r.comparability.reason_code.as_deref(),
        Some("baseline_missing")
    );
    assert!(
        r.comparability
            .message
            .contains("score the baseline run first"),
        "{}",
        r.comparability.message
    );
}
