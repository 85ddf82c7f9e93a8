//! YAML alias bombs ("billion laughs") and deep nesting in every YAML a user hands the tools:
//! range.yaml and scenario.yaml (pa-orchestrate), a Sigma rule (pa-detect, check and stage), a
//! criteria pack (pa-validate). The strict decoder's budgets stop them early with an error that
//! names the file and the line.

use crate::{Case, rule, rules, run, stderr, tool};
use pa_e2e::repo_root;
use std::path::Path;

/// `n` levels of anchors, each a list of nine aliases of the level below: 9^n nodes if expanded.
fn laughs(indent: &str, n: usize) -> String {
    let mut s = format!("{indent}l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=n {
        let row = vec![format!("*a{}", i - 1); 9].join(", ");
        s.push_str(&format!("{indent}l{i}: &a{i} [{row}]\n"));
    }
    s
}

/// `depth` nested flow sequences around a scalar.
fn nested(depth: usize) -> String {
    format!("{}x{}", "[".repeat(depth), "]".repeat(depth))
}

fn example(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("examples/replay-evtx").join(name)).expect("example")
}

/// pa-orchestrate refuses the configuration: config_schema_invalid naming the file, no run.
fn refused(dir: &Path, range: &str, scenario: &str, file: &str, want: &[&str]) {
    std::fs::write(dir.join("range.yaml"), range).expect("range");
    std::fs::write(dir.join("scenario.yaml"), scenario).expect("scenario");
    let out = run(
        tool("pa-orchestrate")
            .current_dir(dir)
            .args(["run", "--workspace", "ws", "--range", "range.yaml"])
            .args(["--scenario", "scenario.yaml"]),
        file,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(20), "{file}: {err}");
    assert!(
        err.contains("config_schema_invalid") && err.contains(file),
        "{file}: {err}"
    );
    assert!(want.iter().any(|w| err.contains(w)), "{file}: {err}");
    assert!(!dir.join("ws/runs").exists() || !has_run(&dir.join("ws/runs")));
}

fn has_run(runs: &Path) -> bool {
    std::fs::read_dir(runs)
        .map(|rd| {
            rd.flatten()
                .any(|e| pa_bundle::validate_run_id(&e.file_name().to_string_lossy()).is_ok())
        })
        .unwrap_or(false)
}

const STOPPED: [&str; 3] = ["budget breached", "recursion limit", "expected"];

#[test]
fn range_and_scenario_bombs_and_nesting_are_config_errors() {
    let t = tempfile::tempdir().expect("tempdir");
    let (range, scenario) = (example("range.yaml"), example("scenario.yaml"));
    // An alias fan-out where the range takes free lists of strings (placeholders):
    // 1,000 keys × a 1,000-string list.
    let items: Vec<String> = (0..1000).map(|i| format!("v{i}")).collect();
    let mut ph = format!("    placeholders:\n      p0: &p [{}]\n", items.join(", "));
    for i in 1..1000 {
        ph.push_str(&format!("      p{i}: *p\n"));
    }
    let anchor = "    rule_paths:";
    let fanout = range.replacen(anchor, &format!("{ph}{anchor}"), 1);
    assert_ne!(fanout, range);
    refused(
        t.path(),
        &fanout,
        &scenario,
        "range.yaml",
        &["budget breached"],
    );
    // The classic bomb in front of everything, then deep nesting in a value.
    refused(
        t.path(),
        &format!("{}{range}", laughs("", 10)),
        &scenario,
        "range.yaml",
        &STOPPED,
    );
    refused(
        t.path(),
        &range.replacen(
            "range_id: replay-evtx",
            &format!("range_id: {}", nested(100_000)),
            1,
        ),
        &scenario,
        "range.yaml",
        &STOPPED,
    );
    // Scenario: the same input_args map aliased by a thousand actions, and deep nesting.
    let args: Vec<String> = (0..1000).map(|i| format!("k{i}: v")).collect();
    let mut bomb = format!(
        "scenario_id: s\nscenario_version: 1.0.0\nactions:\n  - {{action_id: a0, technique_id: T1059.001, input_args: &i {{{}}}}}\n",
        args.join(", ")
    );
    for n in 1..1000 {
        bomb.push_str(&format!(
            "  - {{action_id: a{n}, technique_id: T1059.001, input_args: *i}}\n"
        ));
    }
    refused(
        t.path(),
        &range,
        &bomb,
        "scenario.yaml",
        &["budget breached"],
    );
    refused(
        t.path(),
        &range,
        &format!("description: {}\n{scenario}", nested(100_000)),
        "scenario.yaml",
        &STOPPED,
    );
}

fn sigma_bombs(dir: &Path) -> std::path::PathBuf {
    rules(
        dir,
        "bombs",
        &[
            (
                "laughs.yml",
                rule(
                    1,
                    &format!(
                        "{}  sel: {{EventID: 1}}\n  condition: sel",
                        laughs("  ", 10)
                    ),
                ),
            ),
            (
                "nested.yml",
                rule(
                    2,
                    &format!("  sel: {{EventID: {}}}\n  condition: sel", nested(100_000)),
                ),
            ),
            (
                "deep-map.yml",
                rule(
                    3,
                    &format!(
                        "  sel: {}1{}\n  condition: sel",
                        "{a: ".repeat(50_000),
                        "}".repeat(50_000)
                    ),
                ),
            ),
        ],
    )
}

#[test]
fn sigma_rule_bombs_are_load_issues_and_a_stage_failure() {
    let case = Case::new();
    let dir = sigma_bombs(case.path());
    let out = run(
        tool("pa-detect")
            .arg("--rules")
            .arg(&dir)
            .args(["--fields", "sigma", "check"]),
        "pa-detect check",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for f in ["laughs.yml", "nested.yml", "deep-map.yml"] {
        let line = text
            .lines()
            .find(|l| l.contains(f))
            .unwrap_or_else(|| panic!("{f} not reported: {text}"));
        assert!(line.contains("sigma_ruleset_load_failed"), "{line}");
        assert!(STOPPED.iter().any(|w| line.contains(w)), "{line}");
    }
    assert!(text.contains("0 rule(s): 0 executable"), "{text}");
    // As the detection stage's only rules: nothing loads, the stage fails with its code.
    let out = case.stage("pa-detect", &["--rules", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(20), "{}", stderr(&out));
    let (status, code, message) = case.outcome("detection");
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("failed", "sigma_ruleset_load_failed")
    );
    assert!(message.contains(".yml"), "{message}");
}

#[test]
fn criteria_pack_bombs_fail_validation_with_its_code() {
    let case = Case::new();
    let head = "pack_id: p\npack_version: 1.0.0\nentries:\n  - entry_id: e\n    engine: recorded\n    technique_id: T1003.001\n    engine_test_id: recorded:s1\n    expected_signals:\n      - signal_id: s\n        predicate:\n          class_uid: 1007\n          constraints:\n";
    let mut bomb = format!(
        "{head}            - {{field: a, op: equals, value: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]}}\n"
    );
    for i in 1..=10 {
        let row = vec![format!("*a{}", i - 1); 9].join(", ");
        bomb.push_str(&format!(
            "            - {{field: a, op: equals, value: &a{i} [{row}]}}\n"
        ));
    }
    let deep = format!(
        "{head}            - {{field: a, op: equals, value: {}}}\n",
        nested(100_000)
    );
    for (name, text) in [("bomb.yaml", bomb), ("deep.yaml", deep)] {
        let pack = case.outside(name);
        std::fs::write(&pack, text).expect("pack");
        case.use_criteria_pack(&pack);
        let out = case.stage("pa-validate", &[]);
        assert_eq!(out.status.code(), Some(10), "{name}: {}", stderr(&out));
        let (status, code, message) = case.outcome("validation");
        assert_eq!(
            (status.as_str(), code.as_str()),
            ("failed", "criteria_pack_error")
        );
        assert!(message.contains(&pack.display().to_string()), "{message}");
        assert!(STOPPED.iter().any(|w| message.contains(w)), "{message}");
    }
}
