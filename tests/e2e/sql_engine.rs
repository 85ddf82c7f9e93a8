//! End to end: `pa-detect --engine duckdb` (the rules compiled to SQL by `pa-sigma-sql`, run by
//! the real DuckDB CLI) against the native engine on the normalized store of
//! EVTX-ATTACK-SAMPLES and the SigmaHQ Windows rules; `pa-detect sql`; and the bad inputs of the
//! SQL engine. The DuckDB CLI must be on PATH (`pip install duckdb-cli`; CI's `.ci/run`
//! installs it): these tests fail saying so when it is not.

mod sql_common;

use assert_cmd::Command;
use pa_e2e::{ReplayCase, shared_data, workspace_bin};
use serde_json::Value;
use sql_common::{
    audit_events, bundle_with_store, detect, detection_outcome, evtx_events, lines_without, pairs,
    write_store,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn require_duckdb() {
    let ok = std::process::Command::new("duckdb")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the DuckDB CLI (`duckdb`) is not on PATH: install it with `pip install duckdb-cli` (CI's .ci/run does)"
    );
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The rules of `plans` that are not executable for `reason`, with their explanation.
fn refused(plans: &[Value], reason: &str) -> BTreeMap<String, String> {
    plans
        .iter()
        .filter(|p| p["non_executable_reason"]["reason_code"] == reason)
        .map(|p| {
            (
                p["rule_id"].as_str().unwrap().to_string(),
                p["non_executable_reason"]["explanation"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// Both engines over `events` with `rules`: identical detection lines for every rule DuckDB
/// runs, every other executable rule refused with a reason; then both again over the same
/// events in a hive-partitioned store (`partition_by`): the same files as over the flat
/// store. Returns (refused, executable, detections compared).
fn engines_agree(
    name: &str,
    run_id: &str,
    events: &Path,
    rules: &Path,
    partition_by: Vec<pa_store::PartitionKey>,
) -> (usize, u64, usize) {
    // One comparison at a time: DuckDB sizes its memory and threads to the machine (80% of
    // RAM, every core), so two at once only compete.
    let _one_at_a_time = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let case = ReplayCase::new(name, run_id, &["lab_provider"], "");
    let run = bundle_with_store(&case, events);
    let t0 = std::time::Instant::now();
    let (native, ncov, _) = detect(&run, rules, "native");
    let t1 = std::time::Instant::now();
    let (duck, dcov, dplans) = detect(&run, rules, "duckdb");
    // reported, not asserted (speed belongs in benchmarks)
    eprintln!(
        "{name}: native {:.1}s, duckdb {:.1}s (debug build of pa-detect)",
        (t1 - t0).as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
    let refused = refused(&dplans, "unsupported_in_dialect");
    assert!(
        dplans.iter().all(|p| p["backend"]["id"] == "pa_sql_duckdb"),
        "the compiled plans name the engine that ran"
    );
    let executable = ncov["executable_rules"].as_u64().unwrap();
    assert_eq!(
        dcov["executable_rules"].as_u64().unwrap() + refused.len() as u64,
        executable,
        "every native-executable rule runs in DuckDB or is refused with a reason"
    );
    assert_eq!(dcov["events_evaluated"], ncov["events_evaluated"]);
    // The same lines, for every rule DuckDB runs: same contract, same order.
    let keep = |det: &str| lines_without(det, &refused);
    let (n, d) = (keep(&native), keep(&duck));
    let (pn, pd) = (pairs(&n.join("\n")), pairs(&d.join("\n")));
    let only_native: Vec<_> = pn.difference(&pd).take(10).collect();
    let only_duck: Vec<_> = pd.difference(&pn).take(10).collect();
    assert!(
        only_native.is_empty() && only_duck.is_empty(),
        "{name}: (rule, event) only native: {only_native:?}; only duckdb: {only_duck:?}"
    );
    assert_eq!(n, d, "{name}: detections differ in content or order");
    // The same events partitioned for distributed readers: the native reader merges the
    // partitions back into store order, DuckDB reads them hive-style; nothing changes.
    let layout = pa_store::StoreLayout::new(4096, 50_000, partition_by.clone()).unwrap();
    write_store(&run, events, layout);
    let parts = walk_parts(&run.join("normalized/ocsf_events"));
    assert!(
        parts.len() > 3 && parts.iter().all(|p| p.contains("class_uid=")),
        "{name}: {parts:?}"
    );
    let (pnative, pncov, _) = detect(&run, rules, "native");
    assert!(
        pnative == native,
        "{name}: native detections change with the partitioned layout"
    );
    assert_eq!(pncov["events_evaluated"], ncov["events_evaluated"]);
    let (pduck, _, _) = detect(&run, rules, "duckdb");
    assert!(
        pduck == duck,
        "{name}: duckdb detections change with the partitioned layout"
    );
    eprintln!(
        "{name}: {partition_by:?}: {} parts, detections unchanged",
        parts.len()
    );
    eprintln!(
        "{name}: {} of {executable} executable rules refused in duckdb ({:.2}%), {} detections equal",
        refused.len(),
        refused.len() as f64 * 100.0 / executable as f64,
        n.len()
    );
    for (id, why) in &refused {
        eprintln!("refused {id}: {why}");
    }
    (refused.len(), executable, n.len())
}

/// The part files under `dir`, relative, sorted.
fn walk_parts(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn duckdb_engine_equals_native_on_evtx_attack_samples() {
    require_duckdb();
    let dir = tempfile::tempdir().unwrap();
    let events = evtx_events(dir.path());
    let rules = shared_data().join("sigma/rules/windows");
    let (refused, executable, compared) = engines_agree(
        "sql-evtx",
        "5a1e0000-0000-4000-8000-000000000001",
        &events,
        &rules,
        vec![
            pa_store::PartitionKey::Day,
            pa_store::PartitionKey::ClassUid,
        ],
    );
    assert!(executable > 1000, "{executable} executable rules");
    assert!(compared > 100, "only {compared} detections to compare");
    let share = refused as f64 / executable as f64;
    assert!(
        share <= 0.02,
        "{refused} of {executable} rules refused ({:.2}%), over the 2% target",
        share * 100.0
    );
}

#[test]
fn duckdb_engine_equals_native_on_the_linux_audit_lab() {
    require_duckdb();
    let dir = tempfile::tempdir().unwrap();
    let events = audit_events(dir.path());
    let rules = shared_data().join("sigma/rules/linux");
    let (_, executable, compared) = engines_agree(
        "sql-audit",
        "5a1e0000-0000-4000-8000-000000000004",
        &events,
        &rules,
        vec![pa_store::PartitionKey::ClassUid],
    );
    assert!(executable > 100, "{executable} executable rules");
    assert!(compared > 10, "only {compared} detections to compare");
}

/// A bundle whose store holds the reference golden events, and the reference compilation rules.
fn golden_bundle(name: &str, run_id: &str) -> (ReplayCase, PathBuf, PathBuf) {
    let case = ReplayCase::new(name, run_id, &["lab_provider"], "");
    let golden =
        shared_data().join("purple-axiom-ref/fixtures/bridge/backend/golden_telemetry.jsonl");
    let events = case.path().join("golden.jsonl");
    let mut lines = String::new();
    for l in std::fs::read_to_string(golden).unwrap().lines() {
        if l.trim().is_empty() {
            continue;
        }
        let mut ev: Value = serde_json::from_str(l).unwrap();
        ev["metadata"]["uid"] = ev["metadata"]["event_id"].clone();
        lines.push_str(&serde_json::to_string(&ev).unwrap());
        lines.push('\n');
    }
    std::fs::write(&events, lines).unwrap();
    let run = bundle_with_store(&case, &events);
    let rules = shared_data().join("purple-axiom-ref/fixtures/bridge/rules/compilation");
    (case, run, rules)
}

/// The detection stage's recorded outcome.
fn detect_fails(run: &Path, rules: &Path, path_env: Option<&str>) -> (String, Value) {
    let mut cmd = Command::new(workspace_bin("pa-detect"));
    cmd.arg("--run-dir")
        .arg(run)
        .arg("--rules")
        .arg(rules)
        .args(["--engine", "duckdb"]);
    if let Some(p) = path_env {
        cmd.env("PATH", p);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected a failure");
    assert!(
        !run.join("detections/detections.jsonl").exists(),
        "a failed engine run published detections"
    );
    (
        String::from_utf8_lossy(&out.stderr).to_string(),
        detection_outcome(run),
    )
}

#[test]
fn duckdb_engine_on_the_reference_bundle_and_its_bad_inputs() {
    require_duckdb();
    let (_case, run, rules) = golden_bundle("sql-golden", "5a1e0000-0000-4000-8000-000000000002");
    // The DuckDB CLI missing from PATH: a clear reason, nothing published.
    let (err, o) = detect_fails(&run, &rules, Some("/nonexistent"));
    assert_eq!(o["reason_code"], "sql_engine_unavailable", "{o}");
    assert!(err.contains("pip install duckdb-cli"), "{err}");
    // A store layout the compiler does not know.
    let schema = run.join("normalized/ocsf_events/_schema.json");
    let good = std::fs::read(&schema).unwrap();
    let mut doc: Value = serde_json::from_slice(&good).unwrap();
    doc["schema_version"] = "9.0.0".into();
    std::fs::write(&schema, serde_json::to_vec(&doc).unwrap()).unwrap();
    let (err, o) = detect_fails(&run, &rules, None);
    assert_eq!(o["reason_code"], "sql_store_incompatible", "{o}");
    assert!(
        err.contains("_schema.json") && err.contains("9.0.0"),
        "{err}"
    );
    std::fs::write(&schema, &good).unwrap();
    // DuckDB failing on the store (a part that is not Parquet): its error, naming the script.
    let part = run.join("normalized/ocsf_events/part-0000.parquet");
    let bytes = std::fs::read(&part).unwrap();
    std::fs::write(&part, b"not parquet").unwrap();
    let (err, o) = detect_fails(&run, &rules, None);
    assert_eq!(o["reason_code"], "backend_driver_failed", "{o}");
    assert!(
        err.contains("detect.sql") && err.contains("part-0000.parquet"),
        "{err}"
    );
    std::fs::write(&part, bytes).unwrap();
    // Then both engines succeed with the same detections.
    let (duck, dcov, _) = detect(&run, &rules, "duckdb");
    let (native, ncov, _) = detect(&run, &rules, "native");
    assert_eq!(duck, native);
    assert_eq!(pairs(&duck).len(), 2, "{duck}");
    assert_eq!(dcov["executable_rules"], ncov["executable_rules"]);
}

#[test]
fn sql_subcommand_writes_one_script_per_dialect() {
    require_duckdb();
    let (_case, run, rules) = golden_bundle("sql-script", "5a1e0000-0000-4000-8000-000000000003");
    let script = |dialect: &str, with_run: bool| -> String {
        let mut cmd = Command::new(workspace_bin("pa-detect"));
        cmd.args(["sql", "--dialect", dialect, "--rules"])
            .arg(&rules);
        if with_run {
            cmd.arg("--run-dir").arg(&run);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let duck = script("duckdb", true);
    assert!(duck.contains("read_parquet("), "{duck}");
    // one statement per chunk of one class's rules, into the hits table, then the hits in order
    assert!(
        duck.contains("INSERT INTO pa_hits SELECT")
            && duck.contains("WHERE \"class_uid\" = 1007\n")
            && duck.contains("FROM pa_hits ORDER BY rule_index, \"time\", event_uid;"),
        "{duck}"
    );
    assert_eq!(duck, script("duckdb", true), "the script is deterministic");
    // The script runs as written and finds the native engine's (rule, event) pairs.
    let f = run.join("../detect.sql");
    std::fs::write(&f, &duck).unwrap();
    let out = std::process::Command::new("duckdb")
        .args(["-batch", "-bail", "-no-init", "-csv", "-noheader", "-f"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: BTreeSet<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1].to_string(), c[2].to_string())
        })
        .collect();
    let (native, _, _) = detect(&run, &rules, "native");
    assert_eq!(rows, pairs(&native));
    let spark = script("spark", false);
    assert!(
        spark.contains("FROM pa_events") && spark.contains("`class_uid`"),
        "{spark}"
    );
    assert!(!spark.contains("read_parquet"));
}
