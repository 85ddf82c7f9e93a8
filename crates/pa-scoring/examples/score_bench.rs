//! Scoring throughput on a synthetic run: N actions (one per technique id cycle), two events
//! and one detection per action, 300 compiled plans. Run by `cargo xtask bench score`.
//!
//!     cargo run --profile dist -p pa-scoring --example score_bench -- [N]

use pa_scoring::load::{EventFacts, TIER1_FIELDS};
use pa_scoring::model::ThresholdValues;
use pa_scoring::score::{Inputs, score};
use serde_json::json;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let t0: i64 = 1_767_225_600_000;
    let ts = pa_canon::format_utc_millis;
    let technique = |i: usize| format!("T{:04}", 1000 + (i % 600));
    let mut gt = Vec::with_capacity(n);
    let mut events = Vec::with_capacity(2 * n);
    let mut detections = Vec::with_capacity(n);
    for i in 0..n {
        let start = t0 + i as i64 * 60_000;
        gt.push((
            i + 1,
            json!({"action_id": format!("a{i:06}"), "action_key": format!("{i:064}"), "technique_id": technique(i),
                   "engine": "atomic", "engine_test_id": format!("g{i}"), "target_asset_id": "h1",
                   "timestamp_utc": ts(start),
                   "resolved_target": {"hostname": "h1"},
                   "lifecycle": {"phases": [{"phase": "execute", "phase_outcome": "success",
                       "started_at_utc": ts(start), "ended_at_utc": ts(start + 500)}]}}),
        ));
        for k in 0..2 {
            events.push(EventFacts {
                uid: format!("e{i}-{k}"),
                time_ms: Some(start + 100 + k),
                class_uid: Some(if k == 0 { 1007 } else { 1001 }),
                host: Some("h1".into()),
                session: None,
                opened_session: None,
                event_code: Some("SYSCALL".into()),
                tier1_present: TIER1_FIELDS.len(),
            });
        }
        if i % 3 != 0 {
            detections.push((
                detections.len() + 1,
                json!({"rule_id": format!("r{}", i % 300), "rule_title": "rule", "technique_ids": [technique(i)],
                       "first_seen_utc": ts(start + 100), "last_seen_utc": ts(start + 100),
                       "matched_event_ids": [format!("e{i}-0")]}),
            ));
        }
    }
    let plans: Vec<serde_json::Value> = (0..300)
        .map(|r| json!({"rule_id": format!("r{r}"), "rule_title": "rule", "technique_ids": [technique(r)],
                        "executable": r % 10 != 0, "compilation": {"routed_scope": {"class_uids": [1007]}},
                        "non_executable_reason": {"reason_code": "unsupported_correlation"}}))
        .collect();
    let inputs = Inputs {
        run_id: "123e4567-e89b-42d3-a456-426614174000".into(),
        scenario_id: "bench".into(),
        scenario_version: "1.0.0".into(),
        ground_truth: gt,
        criteria: None,
        detections,
        plan_lines: plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p["rule_id"].as_str().unwrap_or_default().to_owned(), i + 1))
            .collect(),
        plans: plans
            .into_iter()
            .map(pa_scoring::load::PlanRow::from)
            .collect(),
        mapping_coverage: None,
        events,
        tagged: Default::default(),
        thresholds: ThresholdValues::from_config(&pa_config::Scoring::default()),
    };
    let t = Instant::now();
    let s = score(&inputs, "x".into());
    let score_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let bytes = pa_canon::jcs(&s).expect("serializable");
    let json_s = t.elapsed().as_secs_f64();
    println!(
        "score_bench: {n} actions, {} events, {} detections: score {score_s:.3} s, summary JSON {json_s:.3} s ({} bytes); {} detected, {} gaps",
        inputs.events.len(),
        inputs.detections.len(),
        bytes.len(),
        s.metrics.actions_detected,
        s.metrics.gap_counts.values().sum::<u64>()
    );
}
