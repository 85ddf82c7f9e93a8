//! End-to-end fidelity: every SigmaHQ regression sample as recorded EVTX goes through the real
//! pipeline (telemetry → normalization → detection over OCSF through the bridge) and must fire
//! its rule. This is the test of the mapping profiles and the bridge together.

use pa_e2e::{ReplayCase, shared_data};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn walk(d: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.file_name().is_some_and(|n| n == "info.yml") {
            out.push(p);
        }
    }
}

fn rule_id(info: &Path) -> String {
    let text = std::fs::read_to_string(info).unwrap();
    let v: Value = serde_json::to_value(
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix("- id:"))
            .map(|s| s.trim().to_string()),
    )
    .unwrap();
    v.as_str().expect("rule id").to_string()
}

/// Samples whose rule cannot fire through OCSF for a documented reason. Keep this list short
/// and every entry explained; the test fails if an entry starts passing (so it is removed).
const KNOWN_GAPS: &[(&str, &str)] = &[];

#[test]
fn sigma_regression_evtx_fire_their_rules_through_the_whole_pipeline() {
    let root = shared_data().join("sigma-regression");
    let mut infos = Vec::new();
    walk(&root, &mut infos);
    infos.sort();
    let mut sources = String::new();
    let mut cases: Vec<(String, String, PathBuf)> = Vec::new();
    for (i, info) in infos.iter().enumerate() {
        let dir = info.parent().unwrap();
        let Some(evtx) = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "evtx"))
        else {
            continue; // raw-log samples (no EVTX recording)
        };
        let sid = format!("s{i:03}");
        sources.push_str(&format!(
            "    - source_id: {sid}\n      format: evtx\n      asset_id: host\n      paths: [{}]\n",
            serde_json::to_string(&evtx.display().to_string()).unwrap()
        ));
        cases.push((sid, rule_id(info), evtx));
    }
    assert!(cases.len() >= 100, "{} samples", cases.len());
    let rules: Vec<String> = ["rules", "rules-threat-hunting", "rules-emerging-threats"]
        .iter()
        .map(|d| {
            serde_json::to_string(&shared_data().join("sigma").join(d).display().to_string())
                .unwrap()
        })
        .collect();
    let run_id = "f1de1170-0000-4000-8000-000000000001";
    let case = ReplayCase::new(
        "fidelity",
        run_id,
        &["lab_provider", "telemetry", "normalization", "detection"],
        &format!(
            "telemetry:\n  sources:\n{sources}detection:\n  sigma:\n    rule_paths: [{}]\n",
            rules.join(", ")
        ),
    );
    let out = case.orchestrate();
    let run = case.run_dir();
    assert!(
        matches!(out.status.code(), Some(0) | Some(10)),
        "pipeline failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // event uid → every source holding that event. Several samples share a recording, and
    // the store keeps one copy of an event (identity dedupe), so the uids are recomputed per
    // source from raw_parquet with the same normalizer.
    let normalizer =
        pa_ocsf::Normalizer::load(&pa_e2e::repo_root().join("mappings/normalizer/ocsf/1.7.0"))
            .unwrap();
    let mut source_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (sid, _, _) in &cases {
        for row in pa_store::raw::RawReader::open(&run.join("raw_parquet").join(sid)).unwrap() {
            let rec = pa_normalization::record_of_row(&row.unwrap()).unwrap();
            let ctx = pa_ocsf::EventContext {
                run_id,
                scenario_id: "fidelity",
                raw_ref: None,
                normalizer_version: "t",
                collector_version: None,
                host: None,
            };
            if let pa_ocsf::Normalized::Mapped(e) = normalizer.normalize(&rec, &ctx) {
                let uid = e["metadata"]["uid"].as_str().unwrap().to_string();
                source_of.entry(uid).or_default().insert(sid.clone());
            }
        }
    }
    let stored = pa_store::events::EventReader::open(&run.join("normalized/ocsf_events"))
        .unwrap()
        .events()
        .unwrap();
    for e in &stored {
        assert!(
            source_of.contains_key(e["metadata"]["uid"].as_str().unwrap()),
            "stored event not recomputed: {}",
            e["metadata"]["uid"]
        );
    }
    // source id → rules that fired on its events.
    let mut fired: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let det = std::fs::read_to_string(run.join("detections/detections.jsonl")).unwrap();
    for l in det.lines() {
        let d: Value = serde_json::from_str(l).unwrap();
        for id in d["matched_event_ids"].as_array().unwrap() {
            for src in source_of.get(id.as_str().unwrap()).into_iter().flatten() {
                fired
                    .entry(src.clone())
                    .or_default()
                    .insert(d["rule_id"].as_str().unwrap().to_string());
            }
        }
    }
    let mut failures = Vec::new();
    let mut passed = 0;
    for (sid, rule, evtx) in &cases {
        let ok = fired.get(sid).is_some_and(|r| r.contains(rule));
        let known = KNOWN_GAPS.iter().any(|(r, _)| r == rule);
        match (ok, known) {
            (true, false) => passed += 1,
            (false, true) => {}
            (true, true) => failures.push(format!(
                "{rule}: listed as a known gap but fires now: remove it"
            )),
            (false, false) => failures.push(format!("{rule} did not fire on {}", evtx.display())),
        }
    }
    eprintln!(
        "fidelity: {passed} of {} samples fire their rule through OCSF",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
