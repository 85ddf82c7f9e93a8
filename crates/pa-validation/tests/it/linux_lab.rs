//! `mappings/criteria/linux-atomics.yaml` against the reference Linux capture
//! (`linux-audit-lab`: 35 Atomic tests run under auditd): the audit log is normalized with the
//! shipped linux-auditd profile into a normalized store, each test becomes a ground-truth
//! action whose execute phase starts at the harness's `command` start, and the pack is
//! evaluated through the stage's store reader.

use crate::common::{self, gt_row, jsonl, phase};
use pa_validation::{evaluate, parse_ground_truth, read_store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Normalize the capture into a store at `dir`; the number of events.
fn normalize_capture(dir: &Path) -> usize {
    let normalizer =
        pa_ocsf::Normalizer::load(&common::root().join("mappings/normalizer/ocsf/1.7.0"))
            .expect("shipped profiles");
    let reader = pa_sources::open(
        &common::data("linux-audit-lab/audit/audit_tagged.log"),
        pa_sources::SourceFormat::Auditd,
    )
    .expect("audit log");
    let ctx = pa_ocsf::EventContext {
        run_id: common::RUN_ID,
        scenario_id: "s1",
        raw_ref: None,
        normalizer_version: "test",
        collector_version: None,
        host: Some("lab"),
    };
    let mut events = Vec::new();
    for rec in reader {
        let rec = rec.expect("audit record");
        if let pa_ocsf::Normalized::Mapped(e) = normalizer.normalize(&rec, &ctx) {
            events.push(e);
        }
    }
    common::write_store(dir, &events);
    events.len()
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

/// One test of the capture.
struct LabTest {
    action_id: String,
    label: String,
    rc: i64,
}

/// Ground truth of the capture's tests (from `derived/run_results.json`).
fn lab_ground_truth() -> (String, Vec<LabTest>) {
    let text = std::fs::read_to_string(common::data("linux-audit-lab/derived/run_results.json"))
        .expect("run_results.json");
    let doc: Value = serde_json::from_str(&text).expect("json");
    let mut rows = Vec::new();
    let mut tests = Vec::new();
    for (i, t) in doc["tests"].as_array().expect("tests").iter().enumerate() {
        let runs = t["runs"].as_array().expect("runs");
        let run = |p: &str| runs.iter().find(|r| r["phase"] == p);
        let command = run("command").expect("a command run");
        let rc = command["rc"].as_i64().expect("rc");
        let first = runs
            .iter()
            .filter_map(|r| r["t_start"].as_f64())
            .fold(f64::MAX, f64::min);
        let mut phases = vec![
            phase("prepare", "success", Some(ms(first))),
            phase(
                "execute",
                if rc == 0 { "success" } else { "failed" },
                Some(ms(command["t_start"].as_f64().unwrap())),
            ),
        ];
        phases.push(match run("cleanup") {
            Some(c) => phase(
                "revert",
                if c["rc"] == 0 { "success" } else { "failed" },
                Some(ms(c["t_start"].as_f64().unwrap())),
            ),
            None => phase("revert", "skipped", None),
        });
        let action_id = format!("t{:02}", i + 1);
        rows.push(gt_row(
            &action_id,
            "atomic",
            t["technique"].as_str().unwrap(),
            t["guid"].as_str().unwrap(),
            "linux",
            phases,
        ));
        tests.push(LabTest {
            label: format!(
                "{} {}-{} {}",
                action_id,
                t["technique"].as_str().unwrap(),
                t["test_number"],
                t["name"].as_str().unwrap()
            ),
            action_id,
            rc,
        });
    }
    (jsonl(&rows), tests)
}

#[test]
fn every_lab_test_passes_its_criteria() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("ocsf_events");
    let n = normalize_capture(&store);
    assert!(n > 500, "only {n} events normalized from the capture");
    let (gt_text, tests) = lab_ground_truth();
    assert_eq!(tests.len(), 35);
    let gt = parse_ground_truth(Path::new("ground_truth.jsonl"), &gt_text).unwrap();
    let pack = pa_criteria::load_pack(&common::root().join("mappings/criteria/linux-atomics.yaml"))
        .expect("linux-atomics.yaml");
    let out = evaluate(&gt, &[pack], pa_criteria::Defaults::default(), |ev| {
        read_store(&store, ev)
    })
    .unwrap();
    let rows: BTreeMap<String, &pa_validation::ResultRow> =
        out.rows.iter().map(|r| (r.action_id.clone(), r)).collect();
    let mut failures = Vec::new();
    for t in &tests {
        let r = rows[&t.action_id];
        assert!(r.criteria_ref.is_some(), "{}: no entry", t.label);
        if r.status != "pass" {
            let missing: Vec<String> = r
                .signals
                .iter()
                .filter(|s| !s.pass)
                .map(|s| format!("{} (count {})", s.signal_id, s.count))
                .collect();
            failures.push(format!("{} (rc {}): {}", t.label, t.rc, missing.join(", ")));
        }
    }
    // Every test passes, including the five whose command exited non-zero (their commands ran
    // and left the expected telemetry before failing: no network for ping, no systemd as
    // PID 1, no vmw module, no /var/spool/cron/root).
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(tests.iter().filter(|t| t.rc != 0).count(), 5);
    assert_eq!(out.count("pass"), 35);
}

/// Specificity: each test's entry, evaluated over the events of one test's slice of the capture
/// only (from its first phase to the next test's), passes on its own test's slice and on no
/// other's. Audit timestamps come from the kernel's coarse clock and may precede the harness's
/// own start time by a few milliseconds: slices start 100 ms early.
#[test]
fn each_entry_passes_only_on_its_own_test() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("ocsf_events");
    normalize_capture(&store);
    let events = pa_store::events::EventReader::open(&store)
        .unwrap()
        .events()
        .unwrap();
    let text =
        std::fs::read_to_string(common::data("linux-audit-lab/derived/run_results.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let tests = doc["tests"].as_array().unwrap();
    let start = |t: &Value| {
        let runs = t["runs"].as_array().unwrap();
        let first = runs
            .iter()
            .filter_map(|r| r["t_start"].as_f64())
            .fold(f64::MAX, f64::min);
        let cmd = runs.iter().find(|r| r["phase"] == "command").unwrap();
        (ms(first) - 100, ms(cmd["t_start"].as_f64().unwrap()))
    };
    let pack = pa_criteria::load_pack(&common::root().join("mappings/criteria/linux-atomics.yaml"))
        .unwrap();
    let label = |t: &Value| format!("{}-{}", t["technique"].as_str().unwrap(), t["test_number"]);
    let mut wrong = Vec::new();
    for (j, tj) in tests.iter().enumerate() {
        let (slice_start, t0) = start(tj);
        let slice_end = tests.get(j + 1).map(|n| start(n).0).unwrap_or(i64::MAX);
        // Every entry evaluated as if its test had run at test j's time.
        let rows: Vec<Value> = tests
            .iter()
            .enumerate()
            .map(|(i, ti)| {
                gt_row(
                    &format!("e{i:02}"),
                    "atomic",
                    ti["technique"].as_str().unwrap(),
                    ti["guid"].as_str().unwrap(),
                    "linux",
                    vec![phase("execute", "success", Some(t0))],
                )
            })
            .collect();
        let gt = parse_ground_truth(Path::new("gt.jsonl"), &jsonl(&rows)).unwrap();
        let out = evaluate(
            &gt,
            std::slice::from_ref(&pack),
            pa_criteria::Defaults::default(),
            |ev| {
                for e in &events {
                    let t = e["time"].as_i64().unwrap();
                    if (slice_start..slice_end).contains(&t) {
                        ev.observe(e);
                    }
                }
                Ok(0)
            },
        )
        .unwrap();
        for (i, r) in out.rows.iter().enumerate() {
            let pass = r.status == "pass";
            if pass != (i == j) {
                wrong.push(format!(
                    "entry of {} {} on the slice of {}",
                    label(&tests[i]),
                    if pass { "passes" } else { "fails" },
                    label(tj)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
