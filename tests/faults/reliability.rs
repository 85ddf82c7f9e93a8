//! `fixtures/reliability/checkpoint_loss` (../shared/data/purple-axiom-ref), in v0.1 terms.
//!
//! The fixture (v0.2: a Python normalizer over `raw_events.json` with `metadata.event_id`, and
//! telemetry checkpoints under `logs/telemetry_checkpoints/`) re-processes inputs after their
//! checkpoints are lost and asserts that the duplicates are dropped
//! (`dedupe_duplicates_dropped_total` above 0) and the unique event ids are unchanged. v0.1 keeps no telemetry checkpoints and its
//! event ids are computed, not read, so the fixture's files do not apply; its property does: a
//! recording read a second time from the start (what a collector that lost its checkpoint does)
//! lands in its `raw_parquet/<source_id>/` dataset twice, and normalization keeps each event
//! once, counting the copies as duplicates dropped.

use crate::{Case, golden, stable, tree};
use pa_e2e::read_json;

#[test]
fn a_recording_read_twice_after_a_checkpoint_loss_is_deduplicated() {
    let case = Case::new();
    // The source's records again, as a second part of its dataset.
    let dataset = case.run().join("raw_parquet/comsvcs-minidump");
    pa_e2e::copy_into(
        &dataset.join("part-0000.parquet"),
        &dataset.join("part-0001.parquet"),
    );
    let out = case.rerun_from("normalization", &[]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = pa_store::raw::RawReader::open(&dataset)
        .expect("the dataset")
        .count() as u64
        / 2;
    assert!(rows > 0);
    let cov = read_json(&case.run().join("normalized/mapping_coverage.json"));
    assert_eq!(cov["store"]["duplicates_dropped"], rows, "{cov}");
    assert_eq!(cov["store"]["conflicts"], 0, "{cov}");
    // The same unique events as the uninterrupted run, so the same detections and scores.
    let now = tree(&case.run());
    let g = &golden().files;
    for rel in [
        "normalized/ocsf_events/part-0000.parquet",
        "detections/detections.jsonl",
        "criteria/results.jsonl",
    ] {
        assert!(
            stable(rel, &now[rel]) == stable(rel, &g[rel]),
            "{rel} differs from the run without the re-read"
        );
    }
    // The summary differs only in the digest of the coverage document it read.
    let summary = |b: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(b).expect("summary");
        (
            v["actions"].clone(),
            v["metrics"].clone(),
            v["gates"].clone(),
        )
    };
    assert_eq!(
        summary(&now["scoring/summary.json"]),
        summary(&g["scoring/summary.json"])
    );
    let golden_cov: serde_json::Value =
        serde_json::from_slice(&g["normalized/mapping_coverage.json"]).expect("coverage");
    assert_eq!(cov["store"]["rows"], golden_cov["store"]["rows"]);
}
