//! End to end: Sigma correlation rules through the real `pa-detect`, over real Windows attack
//! telemetry (EVTX-ATTACK-SAMPLES, normalized by the real `pa-normalize`), in stream mode and
//! in bundle mode over the sorted store: the same correlation results either way.
//!
//! The rules (`tests/fixtures/correlation/`) follow the specification's examples: an
//! `event_count` over detailed file share accesses (Security 5145) per account within a
//! minute (`generate: true`, so the base rule's own detections stay), and a `temporal_ordered`
//! Sysmon process creation followed by a network connection of the same process
//! (`ProcessGuid`, resolved per OCSF class: `process.uid` / `actor.process.uid`).

use assert_cmd::Command;
use pa_e2e::{ReplayCase, repo_root, shared_data, workspace_bin};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const SHARE_BURST: &str = "c41d6f0e-8a2b-4f3c-9d5e-1b7a6c4e2f33";
const SHARE_ACCESS: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c44";
const PROC_THEN_NET: &str = "7d3e0b52-9f1c-4c55-8f0e-3a1f2c6b9e01";
const PROC_START: &str = "2b0f5a8e-1d4c-4e8b-9a6f-5c3d2e1f0a11";
const NET_CONN: &str = "5e9c1a7d-3b2f-4d6e-8c0a-7f4b3a2e1d22";
const STANDALONE: &str = "3f6a2d1c-7b8e-4c9d-a0e1-2b3c4d5e6f55";

/// Every EVTX-ATTACK-SAMPLES record as OCSF, one per `metadata.uid`, in the store's order
/// (time, then `metadata.uid`).
fn normalized_events(dir: &Path) -> Vec<Value> {
    let samples = shared_data().join("evtx/EVTX-ATTACK-SAMPLES");
    assert!(samples.is_dir(), "{} is missing", samples.display());
    let out = dir.join("ocsf.jsonl");
    Command::new(workspace_bin("pa-normalize"))
        .args(["--source", "evtx", "--input"])
        .arg(&samples)
        .arg("--output")
        .arg(&out)
        .assert()
        .code(0);
    let mut seen = BTreeSet::new();
    let mut events: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| seen.insert(e["metadata"]["uid"].as_str().unwrap().to_owned()))
        .collect();
    events.sort_by(|a, b| {
        (a["time"].as_i64(), a["metadata"]["uid"].as_str())
            .cmp(&(b["time"].as_i64(), b["metadata"]["uid"].as_str()))
    });
    events
}

/// The normalized store of `run`, as the normalization stage publishes it.
fn write_store(run: &Path, tmp: &Path, events: &[Value]) {
    let store = run.join("normalized/ocsf_events");
    let mut w = pa_store::events::EventWriter::new(&store, tmp, 1 << 20).unwrap();
    for e in events {
        w.push(e).unwrap();
    }
    let s = w.finish().unwrap();
    std::fs::write(
        store.join("_schema.json"),
        serde_json::to_vec(&s.schema_document).unwrap(),
    )
    .unwrap();
}

fn rules_dir() -> std::path::PathBuf {
    repo_root().join("tests/fixtures/correlation")
}

/// The detections without what only bundle mode has (run and scenario ids), sorted as
/// `detections.jsonl` is.
fn comparable(lines: &str) -> Vec<Value> {
    let mut v: Vec<Value> = lines
        .lines()
        .map(|l| {
            let mut d: Value = serde_json::from_str(l).unwrap();
            let o = d.as_object_mut().unwrap();
            o.remove("run_id");
            o.remove("scenario_id");
            d
        })
        .collect();
    v.sort_by_key(|d| {
        (
            d["rule_id"].as_str().unwrap().to_owned(),
            d["first_seen_utc"].as_str().unwrap().to_owned(),
            d["last_seen_utc"].as_str().unwrap().to_owned(),
            d["matched_event_ids"].to_string(),
        )
    });
    v
}

#[test]
fn correlations_over_real_attack_telemetry_are_the_same_in_stream_and_bundle_mode() {
    let run_id = "c0441e1a-0000-4000-8000-000000000017";
    let case = ReplayCase::new("corr-case", run_id, &["lab_provider"], "");
    case.orchestrate_expect(0);
    let t = case.path();
    let run = case.run_dir();
    let events = normalized_events(t);
    assert!(events.len() > 5000, "{} events", events.len());
    let by_uid: BTreeMap<&str, &Value> = events
        .iter()
        .map(|e| (e["metadata"]["uid"].as_str().unwrap(), e))
        .collect();

    // stream mode, events in store order
    let jsonl: String = events
        .iter()
        .map(|e| format!("{}\n", serde_json::to_string(e).unwrap()))
        .collect();
    let stream_in = t.join("events.jsonl");
    std::fs::write(&stream_in, jsonl).unwrap();
    let stream_out = Command::new(workspace_bin("pa-detect"))
        .arg("--rules")
        .arg(rules_dir())
        .arg("--events")
        .arg(&stream_in)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let stream = comparable(&String::from_utf8(stream_out).unwrap());

    // bundle mode over the sorted store
    write_store(&run, t, &events);
    let detect = || {
        Command::new(workspace_bin("pa-detect"))
            .arg("--run-dir")
            .arg(&run)
            .arg("--rules")
            .arg(rules_dir())
            .assert()
            .code(0);
        std::fs::read_to_string(run.join("detections/detections.jsonl")).unwrap()
    };
    let first = detect();
    let bundle = comparable(&first);
    assert_eq!(detect(), first, "bundle mode is not deterministic");
    for l in first.lines().take(3) {
        let d: Value = serde_json::from_str(l).unwrap();
        assert_eq!(d["run_id"], run_id);
    }

    let corr = |v: &[Value], id: &str| -> Vec<Value> {
        v.iter().filter(|d| d["rule_id"] == id).cloned().collect()
    };
    // stream = bundle, detection for detection
    assert_eq!(stream.len(), bundle.len());
    assert_eq!(stream, bundle);

    // the share-access burst: the 869 5145 records of LM_5145_Remote_FileCopy, by one account
    let bursts = corr(&bundle, SHARE_BURST);
    assert!(bursts.len() >= 8, "{} bursts", bursts.len());
    for b in &bursts {
        let c = &b["correlation"];
        assert_eq!(c["correlation_type"], "event_count");
        assert_eq!(c["aggregate"], 100);
        assert_eq!(b["rule_level"], "high");
        assert_eq!(b["technique_ids"], serde_json::json!(["T1021.002"]));
        let evs = c["events"].as_array().unwrap();
        assert_eq!(evs.len(), 100);
        assert_eq!(b["matched_event_ids"].as_array().unwrap().len(), 100);
        let user = c["group_by"][0]["value"].as_str().unwrap();
        assert_eq!(c["group_by"][0]["field"], "SubjectUserName");
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for e in evs {
            assert_eq!(e["rule_id"], SHARE_ACCESS);
            let ev = by_uid[e["event_id"].as_str().unwrap()];
            assert_eq!(ev["metadata"]["event_code"], "5145");
            assert_eq!(ev["actor"]["user"]["name"], user);
            let t = ev["time"].as_i64().unwrap();
            lo = lo.min(t);
            hi = hi.max(t);
        }
        assert!(hi - lo <= 60_000, "window wider than the timespan");
        assert_eq!(c["window_start_utc"], b["first_seen_utc"]);
        assert_eq!(c["window_end_utc"], b["last_seen_utc"]);
    }
    // generate: true keeps the base rule's own detections: one per 5145 record
    let base_share = corr(&bundle, SHARE_ACCESS);
    let n5145 = events
        .iter()
        .filter(|e| e["metadata"]["event_code"] == "5145")
        .count();
    assert_eq!(base_share.len(), n5145);

    // process creation then network connection of the same process within a minute
    let pairs = corr(&bundle, PROC_THEN_NET);
    assert!(pairs.len() >= 10, "{} process→network results", pairs.len());
    for p in &pairs {
        let c = &p["correlation"];
        assert_eq!(c["correlation_type"], "temporal_ordered");
        let evs = c["events"].as_array().unwrap();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0]["rule_id"], PROC_START);
        assert_eq!(evs[1]["rule_id"], NET_CONN);
        let start = by_uid[evs[0]["event_id"].as_str().unwrap()];
        let conn = by_uid[evs[1]["event_id"].as_str().unwrap()];
        let guid = c["group_by"][0]["value"].as_str().unwrap();
        assert_eq!(start["process"]["uid"], guid);
        assert_eq!(conn["actor"]["process"]["uid"], guid);
        let dt = conn["time"].as_i64().unwrap() - start["time"].as_i64().unwrap();
        assert!((0..=60_000).contains(&dt), "{dt} ms apart");
    }
    // notepad.exe spawned by the rotten-potato webshell and connecting out
    assert!(
        pairs
            .iter()
            .any(|p| p["correlation"]["group_by"][0]["value"]
                == "{365abb72-b52c-5cea-0000-00107a0d1100}"),
        "the rotten potato notepad.exe is not among the results"
    );
    // the base rules of the temporal correlation do not generate detections of their own
    assert!(corr(&bundle, PROC_START).is_empty());
    assert!(corr(&bundle, NET_CONN).is_empty());

    // a rule no correlation references keeps its detections, one per matching event
    let standalone = corr(&bundle, STANDALONE);
    let rundll = events
        .iter()
        .filter(|e| {
            // process_creation: Process Activity but Terminate/Open/Inject/Other (the route's
            // activity filter)
            e["class_uid"] == 1007
                && ![2, 3, 4, 99].contains(&e["activity_id"].as_i64().unwrap_or(0))
                && e["process"]["file"]["path"]
                    .as_str()
                    .is_some_and(|p| p.to_lowercase().ends_with("\\rundll32.exe"))
        })
        .count();
    assert!(rundll > 0);
    assert_eq!(standalone.len(), rundll);
    assert!(standalone.iter().all(|d| d.get("correlation").is_none()));

    // the correlation rules are executable and counted as matched in coverage
    let cov: Value =
        serde_json::from_slice(&std::fs::read(run.join("bridge/coverage.json")).unwrap()).unwrap();
    assert_eq!(cov["executable_rules"], 6);
    assert_eq!(cov["matched_rules"], 6);
}

#[test]
fn state_bounds_are_reported_and_configurable() {
    let t = tempfile::tempdir().unwrap();
    let events = normalized_events(t.path());
    let input = t.path().join("events.jsonl");
    let jsonl: String = events
        .iter()
        .map(|e| format!("{}\n", serde_json::to_string(e).unwrap()))
        .collect();
    std::fs::write(&input, jsonl).unwrap();
    let out = Command::new(workspace_bin("pa-detect"))
        .arg("--rules")
        .arg(rules_dir())
        .args(["--correlation-max-window", "50", "--events"])
        .arg(&input)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("correlation {SHARE_BURST}: state bounds reached"))
            && stderr.contains("dropped from full windows (max 50 per group)"),
        "{stderr}"
    );
    // with at most 50 matches per window, 100 in a minute can never be seen
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(SHARE_BURST));
    assert!(text.contains(PROC_THEN_NET));
    Command::new(workspace_bin("pa-detect"))
        .arg("--rules")
        .arg(rules_dir())
        .args(["--correlation-max-groups", "0", "--events"])
        .arg(&input)
        .assert()
        .code(2);

    // bundle mode: the bound from the range's detection.sigma, reported in the stage summary
    // (the share burst hits it; the process→network correlation, whose process_creation rule
    // matches process launches only, stays under it and keeps its results)
    let case = ReplayCase::new(
        "corr-bounds",
        "c0441e1a-0000-4000-8000-000000000018",
        &["lab_provider"],
        "detection:\n  sigma:\n    correlation_max_window: 50\n",
    );
    case.orchestrate_expect(0);
    let run = case.run_dir();
    write_store(&run, case.path(), &events);
    let out = Command::new(workspace_bin("pa-detect"))
        .arg("--run-dir")
        .arg(&run)
        .arg("--rules")
        .arg(rules_dir())
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let summary = String::from_utf8(out).unwrap();
    assert!(
        summary.contains("1 correlation rule(s) hit state bounds (results may be missing)")
            && summary.contains(SHARE_BURST)
            && !summary.contains(PROC_THEN_NET),
        "{summary}"
    );
    let det = std::fs::read_to_string(run.join("detections/detections.jsonl")).unwrap();
    assert!(!det.contains(SHARE_BURST) && det.contains(PROC_THEN_NET));
}

#[test]
fn broken_correlations_are_load_issues_with_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("mr_broken.yml");
    std::fs::write(
        &f,
        "title: base\nid: b1\nlogsource:\n  product: windows\n  service: security\ndetection:\n  s:\n    EventID: 4625\n  condition: s\n---\ntitle: missing\ncorrelation:\n  type: event_count\n  rules: [no-such-rule]\n  group-by: [TargetUserName]\n  timespan: 5m\n  condition:\n    gte: 5\n---\ntitle: bad span\ncorrelation:\n  type: event_count\n  rules: [b1]\n  group-by: [TargetUserName]\n  timespan: 5 min\n  condition:\n    gte: 5\n",
    )
    .unwrap();
    let out = Command::new(workspace_bin("pa-detect"))
        .arg("--rules")
        .arg(&f)
        .args(["check", "--format", "json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let issues = doc["load_issues"].as_array().unwrap();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert_eq!(issues[0]["line"], 11);
    assert!(
        issues[0]["message"]
            .as_str()
            .unwrap()
            .contains("`no-such-rule`")
    );
    assert_eq!(issues[1]["line"], 20);
    assert!(
        issues[1]["message"]
            .as_str()
            .unwrap()
            .contains("timespan `5 min`")
    );
    for i in issues {
        assert!(i["file"].as_str().unwrap().ends_with("mr_broken.yml"));
    }
    assert_eq!(
        doc["totals"]["reasons"].get("unsupported_correlation"),
        None
    );
}
