//! Correlation rules through the detector: the specification's complete example (failed logins
//! followed by a successful login, chained, rules referenced by name) in stream mode, and the
//! reasons a correlation cannot run.

use crate::common;

use pa_detection::detector::{Detector, FieldMode};
use serde_json::{Value, json};

/// The specification's "Failed Logins Followed by Successful Login" example, as written.
const SPEC_EXAMPLE: &str = "title: Correlation - Multiple Failed Logins Followed by Successful Login\nid: b180ead8-d58f-40b2-ae54-c8940995b9b6\nstatus: experimental\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - multiple_failed_login\n        - successful_login\n    group-by:\n        - User\n    timespan: 10m\nfalsepositives:\n    - Unlikely\nlevel: high\n---\ntitle: Multiple failed logons\nid: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\ndescription: Detects multiple failed logins within a certain amount of time\nname: multiple_failed_login\ncorrelation:\n    type: event_count\n    rules:\n        - failed_login\n    group-by:\n        - User\n    timespan: 10m\n    condition:\n        gte: 10\n---\ntitle: Single failed login\nid: 53ba33fd-3a50-4468-a5ef-c583635cfa92\nname: failed_login\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID:\n            - 529\n            - 4625\n    condition: selection\n---\ntitle: Successful login\nid: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\ndescription: Detects a successful login\nname: successful_login\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID:\n            - 528\n            - 4624\n    condition: selection\n";

fn detector(text: &str, mode: FieldMode) -> (pa_sigma::RuleSet, Detector) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mr_failed_then_success.yml");
    std::fs::write(&f, text).unwrap();
    let set = pa_detection::load_rules(&[f]).unwrap();
    assert!(set.issues.is_empty(), "{:?}", set.issues);
    let bridge = (mode == FieldMode::Ocsf)
        .then(|| pa_detection::load_bridge(Some(&common::root().join("mappings/bridge"))).unwrap());
    let det = Detector::build(&set, bridge.as_ref(), mode, &Default::default()).unwrap();
    (set, det)
}

fn stream(det: &Detector, events: &[Value]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let mut out = Vec::new();
    pa_detection::stream(det, input.to_str().unwrap(), &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn spec_example_fires_once_with_its_eleven_events() {
    let (_, det) = detector(SPEC_EXAMPLE, FieldMode::Sigma);
    assert_eq!(det.executable_count(), 4);
    let ev = |i: i64, code: u32, user: &str| {
        json!({"EventID": code, "User": user, "time": 1_700_000_000_000i64 + i * 1000,
               "metadata": {"uid": format!("e{i}")}})
    };
    let mut events = vec![ev(0, 4624, "alice")];
    events.extend((1..=10).map(|i| ev(i, 4625, "alice")));
    events.extend((11..=19).map(|i| ev(i, 4625, "bob")));
    events.push(ev(20, 4624, "bob"));
    events.push(ev(21, 4624, "alice"));
    let got = stream(&det, &events);
    // only the outer correlation generates: no base rule, no inner correlation detections
    assert_eq!(got.len(), 1, "{got:#?}");
    let d = &got[0];
    assert_eq!(d["rule_id"], "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(d["rule_level"], "high");
    let c = &d["correlation"];
    assert_eq!(c["correlation_type"], "temporal_ordered");
    assert_eq!(c["group_by"], json!([{"field": "User", "value": "alice"}]));
    let evs = c["events"].as_array().unwrap();
    assert_eq!(evs.len(), 11);
    assert_eq!(evs[0]["event_id"], "e1");
    assert_eq!(evs[0]["rule_id"], "53ba33fd-3a50-4468-a5ef-c583635cfa92");
    assert_eq!(evs[10]["event_id"], "e21");
    assert_eq!(evs[10]["rule_id"], "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8");
    assert_eq!(d["first_seen_utc"], "2023-11-14T22:13:21.000Z");
    assert_eq!(d["last_seen_utc"], "2023-11-14T22:13:41.000Z");
    assert_eq!(d["matched_event_ids"].as_array().unwrap().len(), 11);
    // canonical: the line is its own JCS form
    let line = pa_canon::to_jsonl_line(d).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), *d);
}

#[test]
fn a_correlation_says_why_it_cannot_run() {
    // OCSF mode: `TargetUserName` resolves for the security route; `NoSuchField` has no path
    // for Windows process creation (no alias, no fallback there); a base rule with an unknown
    // logsource cannot run, and neither can a correlation over it.
    let text = "title: fails\nid: f1\nlogsource:\n  product: windows\n  service: security\ndetection:\n  s:\n    EventID: 4625\n  condition: s\n---\ntitle: proc\nid: p1\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    Image|endswith: .exe\n  condition: s\n---\ntitle: unroutable\nid: u1\nlogsource:\n  product: nosuchproduct\n  category: nosuchcategory\ndetection:\n  s:\n    A: 1\n  condition: s\n---\ntitle: by user\nid: c-ok\ncorrelation:\n  type: event_count\n  rules: [f1]\n  group-by: [TargetUserName]\n  timespan: 5m\n  condition:\n    gte: 5\n---\ntitle: by nothing known\nid: c-field\ncorrelation:\n  type: event_count\n  rules: [p1]\n  group-by: [NoSuchField]\n  timespan: 5m\n  condition:\n    gte: 5\n---\ntitle: over unroutable\nid: c-rule\ncorrelation:\n  type: temporal\n  rules: [f1, u1]\n  group-by: [TargetUserName]\n  timespan: 5m\n";
    let (set, det) = detector(text, FieldMode::Ocsf);
    let report = pa_detection::check_report(&set, &det);
    let row = |id: &str| report.rules.iter().find(|r| r.rule_id == id).unwrap();
    assert!(row("c-ok").executable, "{:?}", row("c-ok"));
    assert_eq!(
        row("c-field").reason_code.as_deref(),
        Some("unmapped_field")
    );
    assert!(
        row("c-field")
            .message
            .as_deref()
            .unwrap()
            .contains("NoSuchField")
    );
    assert_eq!(
        row("c-rule").reason_code.as_deref(),
        Some("correlation_rule_not_executable")
    );
    assert!(
        row("c-rule")
            .message
            .as_deref()
            .unwrap()
            .contains("unroutable_logsource")
    );
    assert!(
        !report
            .totals
            .reasons
            .contains_key("unsupported_correlation")
    );
    let e = pa_detection::explain(&det, "c-ok", &json!({})).unwrap_err();
    assert!(e.to_string().contains("is a correlation rule"), "{e}");
}
