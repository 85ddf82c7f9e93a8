//! What each output says about the demo bundle (ten actions with every outcome).

use crate::common::{self, RUN_A};
use pa_reporting::Options;
use serde_json::Value;
use std::path::PathBuf;

fn reported() -> (tempfile::TempDir, PathBuf) {
    let ws = tempfile::tempdir().unwrap();
    let run = common::demo(ws.path(), RUN_A);
    assert_eq!(common::report(&run, &Options::default()).0, 10);
    (ws, run)
}

fn text(run: &std::path::Path, rel: &str) -> String {
    std::fs::read_to_string(run.join(rel)).unwrap()
}

#[test]
fn report_json_holds_every_section_and_every_gap_with_evidence() {
    let (_ws, run) = reported();
    let r = common::json(&run.join("report/report.json"));
    common::assert_contract("report", &r);
    assert_eq!(r["status"], "partial");
    assert_eq!(r["regression"], Value::Null);
    let es = &r["executive_summary"];
    assert_eq!(es["techniques_executed"], 8);
    assert_eq!(es["techniques_covered"], 3);
    assert_eq!(es["coverage_pct"], 0.375);
    assert_eq!(es["target_count"], 3);
    assert_eq!(es["run_status"], "success");
    let failures = r["gaps"]["top_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 5, "every gap is listed");
    let cats: Vec<&str> = failures
        .iter()
        .map(|f| f["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        cats,
        [
            "missing_telemetry",
            "unmapped_event_type",
            "bridge_gap_mapping",
            "bridge_gap_feature",
            "rule_logic_gap"
        ],
        "gaps in layer order"
    );
    for f in failures {
        let refs = f["evidence_refs"].as_array().unwrap();
        assert!(refs.len() >= 2, "{f}");
        assert_eq!(refs[0]["artifact_path"], "scoring/summary.json");
        assert!(
            refs[0]["selector"]
                .as_str()
                .unwrap()
                .starts_with("json_pointer:/actions/")
        );
        assert!(refs.iter().all(|r| r["handling"] == "present"), "{refs:?}");
    }
    assert_eq!(r["gaps"]["by_category"]["rule_logic_gap"]["count"], 1);
    assert_eq!(
        r["gaps"]["by_category"]["rule_logic_gap"]["layer"],
        "detection"
    );
    let gates: Vec<&str> = r["status_reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["gate_id"].as_str().unwrap())
        .collect();
    assert!(gates.contains(&"min_technique_coverage"), "{gates:?}");
    assert_eq!(r["per_source"].as_array().unwrap().len(), 3);
    assert_eq!(r["bridge_health"]["source"], "bridge/coverage.json");
    assert_eq!(
        r["bridge_health"]["non_executable_reason_counts"]["unsupported_regex"],
        19
    );
    assert_eq!(
        r["event_volume"]["normalization"]["top_unmapped_event_types"][0]["event_type"],
        "windows-security:4720"
    );
    // the event types kept as Base Events (ADR-0013), most frequent first
    assert_eq!(r["event_volume"]["normalization"]["events_fallback"], 3);
    assert_eq!(
        r["event_volume"]["normalization"]["top_fallback_event_types"][0]["event_type"],
        "windows-security:4662"
    );
    assert_eq!(
        r["versions"]["rule_set_sha256"],
        format!("sha256:{}", "ab".repeat(32))
    );
    assert_eq!(r["criteria_evaluation"]["available"], false);
    assert_eq!(r["plan"]["not_executed_reasons"]["prepare_failed"], 1);
    assert_eq!(r["latency"]["actions_with_latency"], 4);
    let t1003 = r["coverage"]["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["technique_id"] == "T1003.001")
        .unwrap();
    assert_eq!(t1003["tactics"], serde_json::json!(["credential-access"]));
    assert_eq!(t1003["outcome_class"], "detected");
}

#[test]
fn thresholds_carry_every_gate_sorted_with_why() {
    let (_ws, run) = reported();
    let t = common::json(&run.join("report/thresholds.json"));
    common::assert_contract("thresholds", &t);
    assert_eq!(t["overall_pass"], false);
    assert_eq!(t["status_recommendation"], "partial");
    let ids: Vec<&str> = t["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["gate_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(
        ids.len(),
        10,
        "nine scoring gates and regression_alert: {ids:?}"
    );
    let cov = t["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate_id"] == "min_technique_coverage")
        .unwrap();
    assert_eq!(cov["pass"], false);
    assert_eq!(cov["actual"], 0.375);
    assert_eq!(
        cov["degradation_reason"],
        "min_technique_coverage: 0.375 is below the minimum 0.75"
    );
    let reg = t["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate_id"] == "regression_alert")
        .unwrap();
    assert_eq!(reg["pass"], Value::Null);
    let lat = t["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate_id"] == "max_allowed_latency_seconds")
        .unwrap();
    assert_eq!(lat["pass"], true);
    assert_eq!(lat["degradation_reason"], Value::Null);
}

#[test]
fn timeline_lists_every_action_in_time_order_with_dashes_for_the_missing() {
    let (_ws, run) = reported();
    let md = text(&run, "report/run_timeline.md");
    assert!(md.starts_with("# Run timeline\n"));
    assert!(md.contains("| order | action_id | action_key | technique_id | target_asset_id | start_utc | end_utc | duration_ms | prepare | execute | revert | teardown | evidence |"));
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
        .collect();
    assert_eq!(rows.len(), 10, "{md}");
    assert!(rows[0].starts_with("| 1 | a01-lsass-comsvcs |"));
    let last = rows[9];
    assert!(last.starts_with("| 10 | a10-certutil-download |"), "{last}");
    assert!(
        last.contains("| failed (prepare_failed) | skipped | - | - | - |"),
        "{last}"
    );
    assert!(
        rows.iter().all(|r| r.matches(" | ").count() == 12),
        "13 cells per row"
    );
    // A title with markup stays one cell; the Markdown is not the HTML.
    assert!(
        !md.contains("onerror"),
        "test names are not in the timeline"
    );
}

#[test]
fn junit_is_well_formed_with_counts_that_add_up() {
    use quick_xml::events::Event;
    let (_ws, run) = reported();
    let xml = text(&run, "report/junit.xml");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut skipped) = (0, 0, 0);
    let mut suite_attrs = Vec::new();
    let mut failure_types = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned()
                        })
                };
                match e.name().as_ref() {
                    "testsuite" => {
                        suite_attrs = ["tests", "failures", "skipped", "errors"]
                            .map(|k| attr(k).unwrap())
                            .to_vec()
                    }
                    "testcase" => {
                        cases += 1;
                        assert!(attr("classname").unwrap().starts_with('T'));
                    }
                    "failure" => {
                        failures += 1;
                        failure_types.push(attr("type").unwrap());
                    }
                    "skipped" => skipped += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!((cases, failures, skipped), (10, 5, 1));
    assert_eq!(suite_attrs, ["10", "5", "1", "0"]);
    failure_types.sort();
    assert_eq!(
        failure_types,
        [
            "bridge_gap_feature",
            "bridge_gap_mapping",
            "missing_telemetry",
            "rule_logic_gap",
            "unmapped_event_type"
        ]
    );
    assert!(
        xml.contains("name=\"a06-clear-eventlog: Clear Logs &lt;img src=x onerror=alert(1)&gt; ("),
        "escaped test name"
    );
}

#[test]
fn attack_layer_scores_techniques_by_outcome() {
    let (_ws, run) = reported();
    let l = common::json(&run.join("report/attack_layer.json"));
    common::assert_contract("attack_layer", &l);
    assert_eq!(l["domain"], "enterprise-attack");
    assert_eq!(l["versions"]["layer"], "4.5");
    let t: Vec<(String, i64)> = l["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["techniqueID"].as_str().unwrap().to_string(),
                t["score"].as_i64().unwrap(),
            )
        })
        .collect();
    let expect = [
        ("T1003.001", 100),
        ("T1053.005", 50),
        ("T1059.001", 100),
        ("T1070.001", 0),
        ("T1082", 100),
        ("T1136.001", 50),
        ("T1218.011", 50),
        ("T1548.002", 50),
    ];
    assert_eq!(
        t,
        expect.map(|(a, b)| (a.to_string(), b)).to_vec(),
        "sorted, not-executed T1105 left out"
    );
}

#[test]
fn html_is_self_contained_escaped_and_has_every_section() {
    let (_ws, run) = reported();
    let html = text(&run, "report/report.html");
    for id in [
        "summary",
        "matrix",
        "latency",
        "gaps",
        "actions",
        "detections",
        "telemetry",
        "bridge",
        "artifacts",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id}"
        );
    }
    assert!(!html.contains("<script"), "untrusted markup is escaped");
    assert!(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;")
    );
    assert!(html.contains("Clear Logs &lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img"));
    assert!(html.contains("<svg class=\"chart\""), "latency chart");
    assert!(html.contains("@media print"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    for g in [
        "T1070.001",
        "T1136.001",
        "T1548.002",
        "T1218.011",
        "T1053.005",
    ] {
        assert!(html.contains(g), "gap of {g}");
    }
    assert!(html.contains("href=\"../scoring/summary.json\""));
    // records without a specific class: counted and listed
    assert!(html.contains("3 kept as Base Events with their fields under unmapped"));
    assert!(html.contains("Top event types without a specific class"));
    assert!(html.contains("windows-other:Application:18456"));
}

/// Every `href`/`src`/`url(`/`@import` target that is not a relative path inside the bundle
/// or a fragment.
pub fn external_references(html: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for pat in ["href=\"", "src=\"", "xlink:href=\"", "action=\""] {
        for (i, _) in html.match_indices(pat) {
            let rest = &html[i + pat.len()..];
            let target = &rest[..rest.find('"').unwrap_or(rest.len())];
            let relative =
                !target.contains(':') && !target.starts_with("//") && !target.starts_with('/');
            if !(relative || target.starts_with('#')) {
                bad.push(target.to_string());
            }
        }
    }
    for pat in [
        "@import", "url(", "<link", "<script", "<iframe", "<object", "<embed",
    ] {
        if html.contains(pat) {
            bad.push(pat.to_string());
        }
    }
    bad
}
