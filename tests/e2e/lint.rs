//! End to end: the real `pa-lint` over the reference lint fixtures (byte-identical
//! `lint.json`), over the SigmaHQ rules (the same non-executable set and reasons as
//! `pa-detect check`), and over bad input (a clear error and exit 20, never a panic).

use assert_cmd::Command;
use pa_e2e::{repo_root, shared_data, workspace_bin};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn lint() -> Command {
    Command::new(workspace_bin("pa-lint"))
}

fn copy_tree(src: &Path, dst: &Path) {
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let to = dst.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&to).unwrap();
            copy_tree(&p, &to);
        } else {
            std::fs::copy(&p, &to).unwrap();
        }
    }
}

fn fixture_cases() -> Vec<PathBuf> {
    let root = shared_data().join("purple-axiom-ref/fixtures/lint/atomic_template/v1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected/lint.json").is_file())
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_reference_lint_fixture_reproduces_byte_for_byte() {
    let cases = fixture_cases();
    assert_eq!(cases.len(), 7, "the seven lint fixtures");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let expected_bytes = std::fs::read(case.join("expected/lint.json")).unwrap();
        let expected: Value = serde_json::from_slice(&expected_bytes).unwrap();
        let dir = tempfile::tempdir().unwrap();
        if case.join("inputs").is_dir() {
            copy_tree(&case.join("inputs"), dir.path());
        }
        // A case whose only input is an empty technique folder ships no inputs (git keeps no
        // empty folder): recreate the folder its expected finding names.
        for f in expected["findings"].as_array().unwrap() {
            if f["rule_id"] == "lint-atomic-template-technique-yaml-missing" {
                let file = Path::new(f["file"].as_str().unwrap());
                std::fs::create_dir_all(dir.path().join(file.parent().unwrap())).unwrap();
            }
        }
        let target = expected["targets"][0]["path"].as_str().unwrap();
        let out = lint()
            .current_dir(dir.path())
            .args([target, "--out", "lint.json", "-q"])
            .output()
            .unwrap();
        let status = expected["summary"]["status"].as_str().unwrap();
        let code = if status == "pass" { 0 } else { 20 };
        assert_eq!(
            out.status.code(),
            Some(code),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read(dir.path().join("lint.json")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected_bytes),
            "{name}"
        );
        // The human form names the same findings, with line and column.
        let human = String::from_utf8_lossy(&out.stdout).into_owned();
        for f in expected["findings"].as_array().unwrap() {
            assert!(
                human.contains(f["rule_id"].as_str().unwrap()),
                "{name}: {human}"
            );
        }
    }
}

/// (file, rule id, reason code) of every rule `pa-detect check` says cannot run.
fn check_non_executable(rules: &str) -> (BTreeSet<(String, String, String)>, Value) {
    let out = std::process::Command::new(workspace_bin("pa-detect"))
        .current_dir(repo_root())
        .args(["--rules", rules, "check", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let set = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["executable"] == false)
        .map(|r| {
            (
                r["file"].as_str().unwrap().to_string(),
                r["rule_id"].as_str().unwrap().to_string(),
                r["reason_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (set, doc)
}

#[test]
fn sigma_rules_lint_reports_the_non_executable_set_of_pa_detect_check() {
    let rules_dir = shared_data().join("sigma/rules");
    assert!(rules_dir.is_dir(), "{}", rules_dir.display());
    let rules = "../shared/data/sigma/rules";
    let (expected, check) = check_non_executable(rules);
    assert!(!expected.is_empty(), "the corpus has rules that cannot run");
    let out = lint()
        .current_dir(repo_root())
        .args([rules, "--format", "json", "-q"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        doc["targets"],
        serde_json::json!([{"path": rules, "target_kind": "sigma-rule"}])
    );
    let rule_ids = [
        "lint-sigma-rule-not-executable",
        "lint-sigma-rule-unknown-modifier",
        "lint-sigma-rule-invalid-modifier-combination",
    ];
    let findings = doc["findings"].as_array().unwrap();
    let got: BTreeSet<(String, String, String)> = findings
        .iter()
        .filter(|f| rule_ids.contains(&f["rule_id"].as_str().unwrap()))
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_string(),
                f["details"]["sigma_rule_id"].as_str().unwrap().to_string(),
                f["details"]["reason_code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    // every load issue of check is a lint error on its file
    for issue in check["load_issues"].as_array().unwrap() {
        let file = issue["file"].as_str().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f["file"] == file && f["severity"] == "error"),
            "{file}"
        );
    }
    // the exit code follows the report's status
    let status = doc["summary"]["status"].as_str().unwrap();
    assert_eq!(
        out.status.code(),
        Some(if status == "pass" { 0 } else { 20 })
    );
    // an item-level reason points at the item's key
    if let Some(f) = findings
        .iter()
        .find(|f| f["details"]["reason_code"] == "unmapped_field")
    {
        let field = f["details"]["field"].as_str().unwrap();
        let path = f["instance_path"].as_str().unwrap();
        assert!(
            path.starts_with("/detection/") && path.contains(field),
            "{f}"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error_with_exit_20_and_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a path that does not exist: tool_error, named
    let out = lint()
        .current_dir(d)
        .args(["nope/atomics", "--out", "lint.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope/atomics") && err.contains("no such file"),
        "{err}"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(d.join("lint.json")).unwrap()).unwrap();
    assert_eq!(doc["summary"]["status"], "tool_error");
    // a file of no known kind: tool_error, with what to do
    std::fs::write(d.join("notes.yaml"), "hello: world\n").unwrap();
    let out = lint().current_dir(d).arg("notes.yaml").output().unwrap();
    assert_eq!(out.status.code(), Some(20));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--target"));
    // malformed YAML: a parse error with its line and column
    std::fs::write(
        d.join("scenario.yaml"),
        "scenario_id: s\nactions: [\n  {action_id: a\n",
    )
    .unwrap();
    let out = lint()
        .current_dir(d)
        .args(["scenario.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["rule_id"], "lint-core-parse-error");
    assert_eq!(doc["targets"][0]["target_kind"], "scenario");
    let out = lint().current_dir(d).arg("scenario.yaml").output().unwrap();
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(
        human.starts_with("scenario.yaml:") && human.contains(": error lint-core-parse-error: "),
        "{human}"
    );
    // hostile files: an alias bomb as a range config and as a Sigma rule
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..16 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    std::fs::write(
        d.join("range.yaml"),
        format!("lab: {{provider: replay}}\n{bomb}"),
    )
    .unwrap();
    let out = lint()
        .current_dir(d)
        .args(["range.yaml", "--format", "json"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["findings"][0]["message"],
        "YAML decode failed (anchors/aliases are not permitted)"
    );
    std::fs::create_dir_all(d.join("rules")).unwrap();
    std::fs::write(
        d.join("rules/bomb.yml"),
        format!("title: bomb\nlogsource: {{product: windows}}\ndetection:\n  sel: {{a: 1}}\n  condition: sel\n{bomb}"),
    )
    .unwrap();
    let out = lint()
        .current_dir(d)
        .args(["rules", "--format", "json"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(20),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["file"] == "rules/bomb.yml" && f["severity"] == "error"),
        "{doc}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

/// The reference redaction policy with a recursive-descent JSONPath (SPEC §13 fails it closed)
/// is a lint error at its place, with the `pa.jsonpath.v1` error code; its baseline is clean.
#[test]
fn redaction_policies_fail_lint_where_the_runner_would_fail_closed() {
    let dir = shared_data().join(
        "purple-axiom-ref/fixtures/redaction/v1/policy_ref_invalid_jsonpath_fails_closed/inputs",
    );
    let out = lint()
        .arg(dir.join("policy_ref.json"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(20));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["targets"][0]["target_kind"], "redaction-policy",
        "{report}"
    );
    let f = &report["findings"][0];
    assert_eq!(f["rule_id"], "lint-redaction-policy-invalid", "{report}");
    assert_eq!(f["instance_path"], "/structured/target_paths/0");
    assert_eq!(f["details"]["error_code"], "unsupported_recursive_descent");
    assert_eq!(f["details"]["byte_offset"], 1);
    lint()
        .arg(dir.join("policy_baseline.json"))
        .assert()
        .code(0);
    // Every kind of the report can be forced with --target.
    lint()
        .args(["--target", "redaction-policy"])
        .arg(dir.join("policy_ref.json"))
        .assert()
        .code(20);
    lint()
        .args(["--target", "no-such-kind"])
        .arg(dir.join("policy_ref.json"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("redaction-policy"));
}
