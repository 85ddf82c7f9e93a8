//! `pa-report` end to end: the stage over a scored bundle, `diff` exit codes, `trend`, and a
//! bundle produced by the real pipeline (replay example) with a hand-built scoring summary.

use assert_cmd::Command;
use pa_e2e::{read_json, repo_root, shared_data, workspace_bin};
use pa_reporting::synthetic::{BundleSpec, SynthOutcome};
use serde_json::Value;
use std::path::Path;

const BASE: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const CAND: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn pa_report() -> Command {
    Command::new(workspace_bin("pa-report"))
}

/// The demo with the rule that detected T1082 gone.
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
        summary: "no executable rule tagged T1082 matched".into(),
        evidence: serde_json::json!({"events_in_window": 14}),
    };
    spec
}

#[test]
fn the_stage_exits_10_on_failed_gates_and_publishes_every_output() {
    let ws = tempfile::tempdir().unwrap();
    let run = BundleSpec::demo(BASE).write(ws.path()).unwrap();
    let out = pa_report()
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(10)
        .get_output()
        .stdout
        .clone();
    let line = String::from_utf8_lossy(&out);
    assert!(line.starts_with("reporting: success"), "{line}");
    assert!(
        line.contains("partial: coverage 37.5% (3 of 8 technique(s)), 5 gap(s)"),
        "{line}"
    );
    let m = read_json(&run.join("manifest.json"));
    let sub = m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == "reporting.thresholds")
        .cloned()
        .unwrap();
    assert_eq!(
        sub["reason_code"], "thresholds_not_met",
        "the synthetic run has no scoring.thresholds"
    );
    for p in [
        "report.json",
        "thresholds.json",
        "run_timeline.md",
        "report.html",
        "junit.xml",
        "attack_layer.json",
    ] {
        assert!(run.join("report").join(p).is_file(), "{p}");
    }
    assert_eq!(read_json(&run.join("run_results.json"))["exit_code"], 10);
}

#[test]
fn a_bundle_without_a_summary_is_exit_20_naming_the_file() {
    let ws = tempfile::tempdir().unwrap();
    let run = BundleSpec::demo(BASE).write(ws.path()).unwrap();
    std::fs::remove_file(run.join("scoring/summary.json")).unwrap();
    let out = pa_report()
        .arg("--run-dir")
        .arg(&run)
        .assert()
        .code(20)
        .get_output()
        .clone();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("scoring/summary.json") && all.contains("input_missing"),
        "{all}"
    );
}

#[test]
fn diff_exits_10_when_one_rule_less_misses_exactly_one_technique() {
    let ws = tempfile::tempdir().unwrap();
    let base = BundleSpec::demo(BASE).write(ws.path()).unwrap();
    let cand = one_rule_less(CAND).write(ws.path()).unwrap();
    let out = pa_report()
        .arg("diff")
        .arg(&base)
        .arg(&cand)
        .assert()
        .code(10)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("newly missed techniques: T1082 (System Information Discovery)\n"),
        "{text}"
    );
    assert!(text.contains("newly detected techniques: none"), "{text}");
    assert!(text.contains("result: REGRESSION"), "{text}");
    let r = read_json(&cand.join("report/report.json"));
    let missed: Vec<&str> = r["regression"]["changes"]["techniques_newly_missed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["technique_id"].as_str().unwrap())
        .collect();
    assert_eq!(missed, ["T1082"]);
    // JSON output for machines.
    let out = pa_report()
        .args(["diff", "--format", "json"])
        .arg(&base)
        .arg(&cand)
        .assert()
        .code(10)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["regression_alerted"], true);
}

#[test]
fn diff_exits_0_without_a_regression_and_20_when_not_comparable() {
    let ws = tempfile::tempdir().unwrap();
    let base = BundleSpec::demo(BASE).write(ws.path()).unwrap();
    let same = BundleSpec::demo(CAND).write(ws.path()).unwrap();
    let out = pa_report()
        .arg("diff")
        .arg(&base)
        .arg(&same)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("result: no regression"));

    let mut other = BundleSpec::demo("cccccccc-0000-4000-8000-000000000003");
    other.scenario_id = "linux-discovery".into();
    let other = other.write(ws.path()).unwrap();
    let out = pa_report()
        .arg("diff")
        .arg(&base)
        .arg(&other)
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("are not comparable") && err.contains("scenario_id"),
        "{err}"
    );

    let out = pa_report()
        .arg("diff")
        .arg(ws.path().join("runs/missing"))
        .arg(&same)
        .assert()
        .code(20)
        .get_output()
        .stderr
        .clone();
    assert!(
        String::from_utf8_lossy(&out).contains("baseline_missing"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn trend_writes_json_and_html_for_a_workspace() {
    let ws = tempfile::tempdir().unwrap();
    BundleSpec::demo(BASE).write(ws.path()).unwrap();
    let mut later = one_rule_less(CAND);
    later.start_ms += 86_400_000;
    later.write(ws.path()).unwrap();
    let out = pa_report()
        .args(["trend", "--workspace"])
        .arg(ws.path())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("windows-credential-access: 2 run(s)"),
        "{text}"
    );
    let t = read_json(&ws.path().join("trend/trend.json"));
    let cov: Vec<f64> = t["scenarios"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["technique_coverage_rate"].as_f64().unwrap())
        .collect();
    assert_eq!(cov, [0.375, 0.25]);
    assert!(ws.path().join("trend/trend.html").is_file());
    pa_report()
        .args(["trend", "--workspace"])
        .arg(ws.path().join("nothing"))
        .assert()
        .code(20);
}

#[test]
fn the_replay_example_is_scored_and_reported_by_the_pipeline() {
    shared_data();
    let ws = tempfile::tempdir().unwrap();
    let ex = repo_root().join("examples/replay-evtx");
    let out = Command::new(workspace_bin("pa-orchestrate"))
        .args(["-q", "run", "--workspace"])
        .arg(ws.path())
        .arg("--range")
        .arg(ex.join("range.yaml"))
        .arg("--scenario")
        .arg(ex.join("scenario.yaml"))
        .assert()
        .code(10)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let run = std::path::PathBuf::from(
        text.lines()
            .last()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap(),
    );
    let m = read_json(&run.join("manifest.json"));
    let outcome = |stage: &str| {
        m["stage_outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["stage"] == stage)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(outcome("reporting")["status"], "success", "{m}");
    assert_eq!(
        outcome("scoring.thresholds")["reason_code"],
        "threshold_violated"
    );
    assert_eq!(
        outcome("reporting.thresholds"),
        Value::Null,
        "scoring's gates are not recorded twice"
    );

    let r = read_json(&run.join("report/report.json"));
    let errs = pa_bundle::contracts::validate_value("report", &r).unwrap();
    assert!(errs.is_empty(), "{errs:?}");
    let summary = read_json(&run.join("scoring/summary.json"));
    assert_eq!(r["status"], summary["status_recommendation"]);
    assert_eq!(r["status"], "partial");
    assert_eq!(
        r["executive_summary"]["techniques_covered"],
        summary["metrics"]["techniques_detected"]
    );
    assert_eq!(
        r["per_source"].as_array().unwrap().len(),
        6,
        "every telemetry source of the range"
    );
    assert_eq!(r["bridge_health"]["source"], "bridge/coverage.json");
    assert!(r["bridge_health"]["total_rules"].as_u64().unwrap() > 2000);
    assert_eq!(r["event_volume"]["normalization"]["events_total"], 33);
    assert_eq!(
        r["criteria_evaluation"]["available"], true,
        "the example runs validation"
    );
    assert_eq!(r["versions"]["mapping_pack_id"], "purple-axiom-sigma-ocsf");
    let gaps = r["gaps"]["top_failures"].as_array().unwrap();
    let undetected = summary["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["executed"] == true && a["detected"] == false)
        .count();
    assert_eq!(
        gaps.len(),
        undetected,
        "every gap of the real summary is in the report"
    );
    assert!(
        gaps.iter()
            .all(|g| !g["evidence_refs"].as_array().unwrap().is_empty())
    );
    let tl = std::fs::read_to_string(run.join("report/run_timeline.md")).unwrap();
    assert!(
        tl.contains("| 1 | s5 |"),
        "the oldest recording (2019-03-19) comes first:\n{tl}"
    );
    assert!(
        tl.contains("| - | success | - | - |"),
        "replay records only the execute phase:\n{tl}"
    );
    let html = std::fs::read_to_string(run.join("report/report.html")).unwrap();
    assert!(html.contains("comsvcs-minidump"));
    let junit = std::fs::read_to_string(run.join("report/junit.xml")).unwrap();
    assert!(
        junit.contains(&format!("tests=\"6\" failures=\"{undetected}\"")),
        "{junit}"
    );

    // Reporting again on its own: exit 0 (the run is partial through scoring, not through it),
    // the same bytes but the timestamps.
    let before = std::fs::read(run.join("report/report.html")).unwrap();
    pa_report().arg("--run-dir").arg(&run).assert().code(0);
    assert_eq!(
        before,
        std::fs::read(run.join("report/report.html")).unwrap()
    );
}

#[test]
fn the_orchestrator_runs_reporting_on_a_scored_bundle() {
    let ws = tempfile::tempdir().unwrap();
    let run = BundleSpec::demo(BASE).write(ws.path()).unwrap();
    let out = Command::new(workspace_bin("pa-orchestrate"))
        .args(["-q", "run", "--from", "reporting", "--run-dir"])
        .arg(&run)
        .assert()
        .code(10)
        .get_output()
        .stdout
        .clone();
    assert!(
        String::from_utf8_lossy(&out).contains("partial"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let m = read_json(&run.join("manifest.json"));
    let o = m["stage_outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["stage"] == "reporting.thresholds")
        .unwrap()
        .clone();
    assert_eq!(o["reason_code"], "thresholds_not_met");
    assert_eq!(m["status"], "partial");
    assert_eq!(
        read_json(&run.join("report/thresholds.json"))["status_recommendation"],
        "partial"
    );
}

fn copy_tree(from: &Path, to: &Path, skip: &str) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_tree(&src, &dst, skip);
        } else if e.file_name() != skip {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The replay example's range with absolute paths and the given Sigma rule directory.
fn replay_range(dir: &Path, rules: &Path) -> std::path::PathBuf {
    let ex = repo_root().join("examples/replay-evtx");
    let text = std::fs::read_to_string(ex.join("range.yaml")).unwrap();
    let data = shared_data().canonicalize().unwrap();
    let text = text
        .replace(
            "[\"../../../shared/data/sigma/rules/windows\"]",
            &format!("[\"{}\"]", rules.display()),
        )
        .replace("../../../shared/data", &data.display().to_string())
        .replace(
            "../../mappings",
            &repo_root()
                .join("mappings")
                .canonicalize()
                .unwrap()
                .display()
                .to_string(),
        )
        .replace(
            "ground_truth: ground_truth.jsonl",
            &format!("ground_truth: {}", ex.join("ground_truth.jsonl").display()),
        );
    let p = dir.join(format!(
        "range-{}.yaml",
        rules.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&p, text).unwrap();
    p
}

fn run_pipeline(ws: &Path, range: &Path) -> std::path::PathBuf {
    let out = Command::new(workspace_bin("pa-orchestrate"))
        .args(["-q", "run", "--workspace"])
        .arg(ws)
        .arg("--range")
        .arg(range)
        .arg("--scenario")
        .arg(repo_root().join("examples/replay-evtx/scenario.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(10),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    std::path::PathBuf::from(
        text.lines()
            .last()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap(),
    )
}

#[test]
fn diff_of_two_real_runs_one_sigma_rule_apart_names_exactly_its_technique() {
    let data = shared_data();
    let tmp = tempfile::tempdir().unwrap();
    // The same recordings judged by the SigmaHQ Windows rules, then by the same rules without
    // "UAC Disabled" (the only rule that detects the T1548.002 recording).
    let full = tmp.path().join("rules-full");
    let less = tmp.path().join("rules-less");
    copy_tree(&data.join("sigma/rules/windows"), &full, "");
    copy_tree(
        &data.join("sigma/rules/windows"),
        &less,
        "registry_set_uac_disable.yml",
    );
    let ws = tmp.path().join("ws");
    let base = run_pipeline(&ws, &replay_range(tmp.path(), &full));
    let cand = run_pipeline(&ws, &replay_range(tmp.path(), &less));

    let out = pa_report()
        .arg("diff")
        .arg(&base)
        .arg(&cand)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(10),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = read_json(&cand.join("report/report.json"))["regression"].clone();
    let ids = |k: &str, f: &str| -> Vec<String> {
        r["changes"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t[f].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids("techniques_newly_missed", "technique_id"),
        ["T1548.002"],
        "{text}"
    );
    assert!(
        ids("techniques_newly_detected", "technique_id").is_empty(),
        "{text}"
    );
    assert_eq!(
        ids("rules_newly_missed", "rule_id"),
        ["48437c39-9e5f-47fb-af95-3d663c3f2919"],
        "{text}"
    );
    assert_eq!(
        r["comparability"]["status"], "warning",
        "the rule set changed: compared, flagged"
    );
    let rule_set = r["comparability_checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "rule_set_sha256")
        .unwrap()
        .clone();
    assert_eq!(rule_set["reason_code"], "pin_mismatch");
    assert!(
        text.contains("newly missed techniques: T1548.002"),
        "{text}"
    );
}
