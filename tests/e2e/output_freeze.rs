//! Output freeze of the bundle path (issue 15, "Done when"): speed work must leave what a run
//! publishes unchanged. EVTX-ATTACK-SAMPLES goes through telemetry → normalization →
//! detection with the SigmaHQ Windows rules under a fixed run id, and three digests are pinned:
//!
//! - the normalized store: every event read back, in store order, in canonical (JCS) form —
//!   this covers every event identity (`metadata.uid`) and the store's row order;
//! - the store's `_schema.json` (its columns and their types), byte for byte;
//! - `detections/detections.jsonl`, byte for byte.
//!
//! The reference-data folder's absolute path is replaced by `<data>` first (raw references and
//! rule files name it), so the digests do not depend on where the checkout lives. When an
//! output changes on purpose, update the constant in the same commit, saying why (the test
//! prints the new value).

use pa_e2e::{ReplayCase, shared_data};
use sha2::{Digest, Sha256};

const RUN_ID: &str = "00000000-0000-4000-8000-00000000f00d";

/// The digests as of commit a0e7074, before the speed work of 2026-12-07.
const STORE_EVENTS: &str = "5dcc899e2386cc309951228e0984eb0d8ee44e0b95bb9bb6479b0d4ce2a981c3";
const STORE_SCHEMA: &str = "850cc1a1f1a071e2dbcb9747354a4d6444af802760aa82d1fd15f7216438752a";
const DETECTIONS: &str = "b677e75b25760ca1eb7de658c1d0fd84ce2e955536881b8aaa9e87a7a246ff84";

fn sha(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn the_bundle_path_publishes_the_same_store_and_detections_on_evtx_attack_samples() {
    let data = shared_data()
        .canonicalize()
        .expect("the reference data folder");
    let samples = data.join("evtx/EVTX-ATTACK-SAMPLES");
    let rules = data.join("sigma/rules/windows");
    let q = |p: &std::path::Path| serde_json::to_string(&p.display().to_string()).unwrap();
    let c = ReplayCase::new(
        "output-freeze",
        RUN_ID,
        &["lab_provider", "telemetry", "normalization", "detection"],
        &format!(
            "telemetry:\n  sources:\n    - source_id: evtx\n      format: evtx\n      asset_id: host\n      paths: [{}]\ndetection:\n  sigma:\n    rule_paths: [{}]\n",
            q(&samples),
            q(&rules)
        ),
    );
    let out = c.orchestrate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix = data.display().to_string();
    let located = |s: String| s.replace(&prefix, "<data>");
    let run = c.run_dir();

    let events = pa_store::events::EventReader::open(&run.join("normalized/ocsf_events"))
        .expect("the store")
        .events()
        .expect("its events");
    assert!(events.len() > 7000, "{} events", events.len());
    let lines: Vec<String> = events
        .iter()
        .map(|e| located(pa_canon::jcs_string(e).expect("JCS")))
        .collect();
    let got_events = sha(&lines.join("\n"));
    let schema = std::fs::read_to_string(run.join("normalized/ocsf_events/_schema.json"))
        .expect("_schema.json");
    let got_schema = sha(&schema);
    let detections =
        std::fs::read_to_string(run.join("detections/detections.jsonl")).expect("detections.jsonl");
    assert!(detections.lines().count() > 1000, "too few detections");
    let got_detections = sha(&located(detections));

    let got = [got_events, got_schema, got_detections];
    assert_eq!(
        got,
        [STORE_EVENTS, STORE_SCHEMA, DETECTIONS],
        "the published outputs changed (store events, store schema, detections): {got:?}"
    );
}
