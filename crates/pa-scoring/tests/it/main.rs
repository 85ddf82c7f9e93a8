//! Scoring over hand-built runs: one action per case, each case a different layer losing it
//! (or none), with the gap category and its evidence asserted exactly.

use pa_scoring::load::EventFacts;
use pa_scoring::model::{Summary, ThresholdValues};
use pa_scoring::score::{Inputs, score};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const RUN: &str = "123e4567-e89b-42d3-a456-426614174000";
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn ts(ms: i64) -> String {
    pa_canon::format_utc_millis(ms)
}

fn action(id: &str, technique: &str, start: i64, outcome: &str) -> Value {
    json!({
        "run_id": RUN, "scenario_id": "s", "scenario_version": "1.0.0",
        "action_id": id, "action_key": format!("{id:0>64}"), "timestamp_utc": ts(start),
        "engine": "atomic", "engine_test_id": format!("guid-{id}"), "technique_id": technique,
        "target_asset_id": "h1",
        "resolved_target": {"os": "linux", "role": "ws", "tags": [], "hostname": "h1"},
        "lifecycle": {"phases": [
            {"phase": "prepare", "phase_outcome": "success", "started_at_utc": ts(start), "ended_at_utc": ts(start)},
            {"phase": "execute", "phase_outcome": outcome, "started_at_utc": ts(start), "ended_at_utc": ts(start + 1000)}
        ]}
    })
}

fn event(uid: &str, t: i64, class: i64, code: &str) -> EventFacts {
    EventFacts {
        uid: uid.into(),
        time_ms: Some(t),
        class_uid: Some(class),
        host: Some("h1".into()),
        session: None,
        opened_session: None,
        event_code: Some(code.into()),
        tier1_present: pa_scoring::load::TIER1_FIELDS.len(),
    }
}

fn plan(rule: &str, title: &str, tags: &[&str], exec: Option<&str>, classes: &[i64]) -> Value {
    let mut p = json!({
        "rule_id": rule, "rule_title": title, "technique_ids": tags,
        "executable": exec.is_none(),
        "compilation": {"routed_scope": {"class_uids": classes}},
        "condition": "selection",
    });
    if let Some(code) = exec {
        p["non_executable_reason"] = json!({"reason_domain": "bridge_compiled_plan", "reason_code": code, "explanation": "x"});
    }
    p
}

fn detection(rule: &str, title: &str, tags: &[&str], t: i64, ev: &str) -> Value {
    json!({"rule_id": rule, "rule_title": title, "technique_ids": tags,
           "first_seen_utc": ts(t), "last_seen_utc": ts(t), "matched_event_ids": [ev]})
}

fn lines(v: Vec<Value>) -> Vec<(usize, Value)> {
    v.into_iter().enumerate().map(|(i, x)| (i + 1, x)).collect()
}

fn run(
    gt: Vec<Value>,
    criteria: Option<Vec<Value>>,
    detections: Vec<Value>,
    plans: Vec<Value>,
    events: Vec<EventFacts>,
) -> Summary {
    let inputs = Inputs {
        run_id: RUN.into(),
        scenario_id: "s".into(),
        scenario_version: "1.0.0".into(),
        ground_truth: lines(gt),
        criteria: criteria.map(lines),
        detections: lines(detections),
        // As bridge/compiled_plans.jsonl holds them: one line per plan, in order.
        plan_lines: plans
            .iter()
            .enumerate()
            .map(|(i, p)| (p["rule_id"].as_str().unwrap().to_owned(), i + 1))
            .collect(),
        // Read as the stage reads the file's lines (members parsed on demand).
        plans: plans
            .iter()
            .map(|p| pa_scoring::load::PlanRow::parse(&p.to_string()).unwrap())
            .collect(),
        mapping_coverage: Some(
            json!({"unknown_event_types": [{"event_type": "SECCOMP", "count": 3}],
                   "fallback_event_types": [{"source_type": "linux-auditd", "event_type": "linux-auditd:BPF", "count": 1}]}),
        ),
        events,
        tagged: BTreeMap::new(),
        thresholds: ThresholdValues::from_config(&pa_config::Scoring::default()),
    };
    let s = score(&inputs, "1970-01-01T00:00:00.000Z".into());
    // Every summary is contract-valid.
    let entry = pa_bundle::contracts::entry_for("scoring/summary.json")
        .unwrap()
        .unwrap();
    let (errs, n) =
        pa_bundle::contracts::validate_artifact(entry, &pa_canon::jcs(&s).unwrap()).unwrap();
    assert_eq!(n, 0, "{errs:?}");
    s
}

fn gap(s: &Summary, action: &str) -> (String, String, Value, Vec<String>) {
    let a = s.actions.iter().find(|a| a.action_id == action).unwrap();
    let g = a
        .gap
        .as_ref()
        .unwrap_or_else(|| panic!("{action} has no gap: {a:?}"));
    (
        g.category.clone(),
        g.summary.clone(),
        g.evidence.clone(),
        g.evidence_refs
            .iter()
            .map(|r| format!("{}#{}", r.artifact_path, r.selector))
            .collect(),
    )
}

#[test]
fn all_detected_is_full_coverage_without_gaps() {
    let s = run(
        vec![
            action("a1", "T1059.004", T0, "success"),
            action("a2", "T1082", T0 + 60_000, "failed"),
        ],
        None,
        vec![
            detection("r1", "Shell", &["T1059"], T0 + 2_000, "e1"),
            detection("r2", "Uname", &["T1082"], T0 + 61_500, "e2"),
        ],
        vec![
            plan("r1", "Shell", &["T1059"], None, &[1007]),
            plan("r2", "Uname", &["T1082"], None, &[1007]),
        ],
        vec![
            event("e1", T0 + 2_000, 1007, "SYSCALL"),
            event("e2", T0 + 61_500, 1007, "SYSCALL"),
        ],
    );
    let m = &s.metrics;
    assert_eq!((m.actions_executed, m.actions_detected), (2, 2));
    assert_eq!(m.technique_coverage_rate, Some(1.0));
    assert_eq!(m.detection_latency_max_seconds, Some(2.0));
    assert_eq!(m.detection_latency_p50_seconds, Some(1.5));
    assert_eq!(
        s.actions[0].attribution.as_deref(),
        Some("weak_signal"),
        "parent tag counts"
    );
    assert!(s.actions.iter().all(|a| a.gap.is_none()));
    assert_eq!(m.false_positive_detection_count, 0);
    assert_eq!(s.status_recommendation, "success");
}

#[test]
fn a_technique_with_no_telemetry_is_missing_telemetry() {
    let s = run(
        vec![action("a1", "T1003.001", T0, "success")],
        None,
        vec![],
        vec![plan("r1", "LSASS", &["T1003.001"], None, &[1007])],
        vec![event("other-host", T0 + 5_000, 1007, "1")]
            .into_iter()
            .map(|mut e| {
                e.host = Some("elsewhere".into());
                e
            })
            .collect(),
    );
    let (cat, summary, ev, refs) = gap(&s, "a1");
    assert_eq!(cat, "missing_telemetry");
    assert!(summary.contains("no normalized event"), "{summary}");
    assert_eq!(ev["events_in_window"], 0);
    assert_eq!(
        refs,
        [
            "ground_truth.jsonl#jsonl_line:1",
            "logs/telemetry_validation.json#json_pointer:/sources"
        ]
    );
}

#[test]
fn expected_signals_missing_with_other_telemetry_is_missing_telemetry_naming_the_signal() {
    let crit = json!({"action_id": "a1", "status": "fail", "reason_code": "missing_expected_signal",
        "criteria_ref": {"pack_id": "p", "pack_version": "1.0.0", "entry_id": "e"},
        "signals": [{"signal_id": "proc_uname", "pass": false}, {"signal_id": "file", "pass": true}],
        "time_window": {"start_time_utc": ts(T0 - 5_000), "end_time_utc": ts(T0 + 120_000)}});
    let s = run(
        vec![action("a1", "T1082", T0, "success")],
        Some(vec![crit]),
        vec![],
        vec![plan("r1", "Uname", &["T1082"], None, &[1007])],
        vec![event("e1", T0 + 100, 1001, "SYSCALL")],
    );
    let (cat, summary, ev, refs) = gap(&s, "a1");
    assert_eq!(cat, "missing_telemetry");
    assert!(
        summary.contains("proc_uname") && summary.contains("1 of class 1001"),
        "{summary}"
    );
    assert_eq!(ev["missing_signals"], json!(["proc_uname"]));
    assert_eq!(
        refs,
        [
            "criteria/results.jsonl#jsonl_line:1",
            "ground_truth.jsonl#jsonl_line:1"
        ]
    );
    assert_eq!(
        s.actions[0].telemetry.criteria_status.as_deref(),
        Some("fail")
    );
}

#[test]
fn telemetry_no_profile_maps_is_unmapped_event_type_naming_the_types() {
    let s = run(
        vec![action("a1", "T1562.001", T0, "success")],
        None,
        vec![],
        vec![plan("r1", "Disable", &["T1562.001"], None, &[1007])],
        vec![
            event("e1", T0 + 10, 0, "SECCOMP"),
            event("e2", T0 + 20, 0, "SECCOMP"),
            event("e3", T0 + 30, 0, "BPF"),
        ],
    );
    let (cat, summary, ev, refs) = gap(&s, "a1");
    assert_eq!(cat, "unmapped_event_type");
    assert!(summary.contains("SECCOMP (2), BPF (1)"), "{summary}");
    assert_eq!(
        ev["unclassified_event_types"],
        json!({"BPF": 1, "SECCOMP": 2})
    );
    assert_eq!(ev["unknown_event_types"][0]["event_type"], "SECCOMP");
    assert_eq!(
        ev["fallback_event_types"][0]["event_type"],
        "linux-auditd:BPF"
    );
    assert_eq!(
        refs,
        [
            "ground_truth.jsonl#jsonl_line:1",
            "normalized/mapping_coverage.json#json_pointer:/fallback_event_types",
            "normalized/mapping_coverage.json#json_pointer:/unknown_event_types"
        ]
    );
}

#[test]
fn an_unmapped_sigma_field_is_a_bridge_mapping_gap_naming_rules_and_codes() {
    let s = run(
        vec![action("a1", "T1070.001", T0, "success")],
        None,
        vec![],
        vec![
            plan(
                "r1",
                "Log cleared",
                &["T1070.001"],
                Some("unmapped_field"),
                &[],
            ),
            plan(
                "r2",
                "Log cleared 2",
                &["T1070"],
                Some("unroutable_logsource"),
                &[],
            ),
            plan("r3", "Other", &["T1003"], None, &[1007]),
        ],
        vec![event("e1", T0 + 10, 1008, "104")],
    );
    let (cat, summary, ev, refs) = gap(&s, "a1");
    assert_eq!(cat, "bridge_gap_mapping");
    assert!(summary.contains("the 2 rule(s) tagged T1070.001 cannot run: unmapped_field (1), unroutable_logsource (1)"), "{summary}");
    assert_eq!(
        ev["reasons"],
        json!({"unmapped_field": ["r1"], "unroutable_logsource": ["r2"]})
    );
    assert_eq!(
        refs,
        [
            "bridge/compiled_plans.jsonl#jsonl_line:1#/non_executable_reason",
            "bridge/compiled_plans.jsonl#jsonl_line:2#/non_executable_reason",
            "ground_truth.jsonl#jsonl_line:1"
        ]
    );
    assert_eq!(s.techniques[0].rules_tagged, 2);
    assert_eq!(s.techniques[0].rules_executable, 0);
}

#[test]
fn only_non_executable_rules_of_a_feature_are_a_bridge_feature_gap() {
    let s = run(
        vec![action("a1", "T1110", T0, "success")],
        None,
        vec![],
        vec![plan(
            "r1",
            "Brute force",
            &["T1110"],
            Some("unsupported_correlation"),
            &[],
        )],
        vec![event("e1", T0 + 10, 3002, "4625")],
    );
    let (cat, summary, _, _) = gap(&s, "a1");
    assert_eq!(cat, "bridge_gap_feature");
    assert!(summary.contains("unsupported_correlation (1)"), "{summary}");
}

#[test]
fn executable_rules_that_did_not_fire_are_a_rule_logic_gap() {
    let s = run(
        vec![
            action("a1", "T1059.004", T0, "success"),
            action("a2", "T1049", T0 + 300_000, "success"),
        ],
        None,
        vec![],
        vec![
            plan("r1", "Shell A", &["T1059.004"], None, &[1007]),
            plan("r2", "Shell B", &["T1059"], None, &[1007]),
            plan("r3", "Shell C", &["T1059.004"], None, &[1007]),
        ],
        vec![
            event("e1", T0 + 10, 1007, "SYSCALL"),
            event("e2", T0 + 300_010, 1007, "SYSCALL"),
        ],
    );
    let (cat, summary, ev, _) = gap(&s, "a1");
    assert_eq!(cat, "rule_logic_gap");
    assert_eq!(
        summary,
        "1 event(s) of this action exist (1 of class 1007); the 3 rule(s) tagged T1059.004 are executable (reading classes [1007]) and none matched"
    );
    assert_eq!(ev["rule_titles"], json!(["Shell A", "Shell B", "Shell C"]));
    let (cat, summary, ev, _) = gap(&s, "a2");
    assert_eq!(cat, "rule_logic_gap");
    assert!(
        summary.contains("no rule of the rule set is tagged T1049"),
        "{summary}"
    );
    assert_eq!(ev["rules_tagged"], 0);
    assert_eq!(s.metrics.gap_counts["rule_logic_gap"], 2);
    assert_eq!(s.metrics.technique_coverage_rate, Some(0.0));
    assert_eq!(s.status_recommendation, "partial", "coverage below 0.75");
}

#[test]
fn a_detection_attributable_to_no_action_is_a_false_positive() {
    let s = run(
        vec![action("a1", "T1082", T0, "success")],
        None,
        vec![
            detection("r1", "Uname", &["T1082"], T0 + 1_000, "e1"),
            detection("r9", "Cron", &["T1053.003"], T0 + 2_000, "e2"),
            detection("r9", "Cron", &["T1053.003"], T0 + 3_000, "e3"),
            detection("r1", "Uname", &["T1082"], T0 + 3_600_000, "e4"),
        ],
        vec![
            plan("r1", "Uname", &["T1082"], None, &[1007]),
            plan("r9", "Cron", &["T1053.003"], None, &[1001]),
        ],
        vec![
            event("e1", T0 + 1_000, 1007, "x"),
            event("e2", T0 + 2_000, 1001, "x"),
            event("e3", T0 + 3_000, 1001, "x"),
            event("e4", T0 + 3_600_000, 1007, "x"),
        ],
    );
    assert!(s.actions[0].detected);
    assert_eq!(s.metrics.detections_attributed, 1);
    assert_eq!(s.metrics.false_positive_detection_count, 3);
    assert_eq!(s.metrics.false_positive_detection_rate, Some(0.75));
    let u: Vec<(String, u64)> = s
        .unattributed_detections
        .iter()
        .map(|u| (u.rule_id.clone(), u.detections))
        .collect();
    assert_eq!(u, [("r1".to_string(), 1), ("r9".to_string(), 2)]);
    assert_eq!(s.unattributed_detections[1].first_seen_utc, ts(T0 + 2_000));
    let fp_gate = s
        .gates
        .iter()
        .find(|g| g.gate_id == "max_false_positive_detection_rate")
        .unwrap();
    assert_eq!(fp_gate.pass, Some(false));
}

#[test]
fn exact_attribution_through_the_action_s_audit_sessions_and_collateral_hits() {
    let mut gt = vec![
        action("a1", "T1082", T0, "success"),
        action("a2", "T1033", T0 + 10, "success"),
    ];
    gt[1]["resolved_target"]["hostname"] = json!("h1");
    let login = |uid: &str, pid: i64, ses: &str, t: i64| {
        let mut e = event(uid, t, 3002, "LOGIN");
        e.opened_session = Some((ses.into(), pid));
        e
    };
    let mut e1 = event("e1", T0 + 12, 1007, "SYSCALL");
    e1.session = Some("7".into()); // a1's session, though inside a2's window
    let mut e2 = event("e2", T0 + 13, 1001, "SYSCALL");
    e2.session = Some("7".into());
    let events = vec![
        login("l1", 100, "7", T0),
        login("l2", 200, "8", T0 + 10),
        e1,
        e2,
    ];
    let inputs = Inputs {
        run_id: RUN.into(),
        scenario_id: "s".into(),
        scenario_version: "1.0.0".into(),
        ground_truth: lines(gt),
        criteria: None,
        detections: lines(vec![
            detection("r1", "Uname", &["T1082"], T0 + 12, "e1"),
            detection("r5", "File Deletion", &["T1070.004"], T0 + 13, "e2"),
        ]),
        plans: vec![],
        plan_lines: BTreeMap::new(),
        mapping_coverage: None,
        events,
        tagged: [
            ("a1".to_string(), vec![("execute".to_string(), 100)]),
            ("a2".to_string(), vec![("execute".to_string(), 200)]),
        ]
        .into(),
        thresholds: ThresholdValues::from_config(&pa_config::Scoring::default()),
    };
    let s = score(&inputs, "x".into());
    let a1 = &s.actions[0];
    assert_eq!(a1.attribution.as_deref(), Some("exact"));
    assert_eq!(
        a1.telemetry.events_in_window, 2,
        "only its own session's events"
    );
    assert_eq!(
        a1.collateral_detections, 1,
        "the cleanup-like hit is the action's, not a false positive"
    );
    assert_eq!(s.metrics.false_positive_detection_count, 0);
    assert!(!s.actions[1].detected);
}

#[test]
fn rules_routed_to_other_classes_are_a_bridge_mapping_gap_and_other_techniques_hits_are_named() {
    let s = run(
        vec![action("a1", "T1070.001", T0, "success")],
        None,
        vec![detection(
            "r7",
            "Important Eventlog Cleared",
            &["T1685.005"],
            T0 + 500,
            "e1",
        )],
        vec![
            plan(
                "r1",
                "Eventlog cleared (process)",
                &["T1070.001"],
                None,
                &[1007],
            ),
            plan(
                "r7",
                "Important Eventlog Cleared",
                &["T1685.005"],
                None,
                &[1008],
            ),
        ],
        vec![event("e1", T0 + 500, 1008, "104")],
    );
    let (cat, summary, ev, refs) = gap(&s, "a1");
    assert_eq!(cat, "bridge_gap_mapping");
    assert!(
        summary.contains("read classes [1007], none of these"),
        "{summary}"
    );
    assert!(
        summary.contains("rules tagged with other techniques matched its events: Important Eventlog Cleared (T1685.005)"),
        "{summary}"
    );
    assert_eq!(ev["other_rules_matched"][0]["rule_id"], "r7");
    assert!(
        refs.contains(&"detections/detections.jsonl#jsonl_line:1".to_string()),
        "{refs:?}"
    );
    assert_eq!(s.metrics.false_positive_detection_count, 1);
}
