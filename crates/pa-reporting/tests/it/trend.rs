//! `pa-report trend`: coverage and latency across the runs of a workspace.

use crate::common;
use pa_reporting::synthetic::{BundleSpec, SynthOutcome};

#[test]
fn runs_of_a_scenario_are_ordered_by_start_and_unscored_runs_skipped() {
    let ws = tempfile::tempdir().unwrap();
    // Written out of order: the newest first.
    let mut newest = BundleSpec::demo("cccccccc-0000-4000-8000-000000000003");
    newest.start_ms += 2 * 86_400_000;
    for a in &mut newest.actions {
        if let SynthOutcome::Gap { .. } = a.outcome {
            a.outcome = SynthOutcome::Detected {
                rule_id: "r".into(),
                rule_title: "R".into(),
                attribution: "exact",
                latency: 9.0,
            };
        }
    }
    common::write(&newest, ws.path());
    common::demo(ws.path(), common::RUN_A);
    let mut other = BundleSpec::demo(common::RUN_B);
    other.scenario_id = "linux-discovery".into();
    common::write(&other, ws.path());
    let unscored = common::demo(ws.path(), "dddddddd-0000-4000-8000-000000000004");
    std::fs::remove_file(unscored.join("scoring/summary.json")).unwrap();

    let out = ws.path().join("trend");
    let t = pa_reporting::trend::write(
        ws.path(),
        Some("windows-credential-access"),
        &out,
        "2026-12-01T00:00:00.000Z",
    )
    .unwrap();
    assert_eq!(t.trend.scenarios.len(), 1);
    let runs = &t.trend.scenarios[0].runs;
    assert_eq!(
        runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        [common::RUN_A, "cccccccc-0000-4000-8000-000000000003"]
    );
    assert_eq!(runs[0].technique_coverage_rate, Some(0.375));
    assert_eq!(runs[1].technique_coverage_rate, Some(1.0));
    assert_eq!(t.trend.skipped.len(), 1);
    assert!(t.trend.skipped[0].reason.contains("scoring/summary.json"));
    let html = std::fs::read_to_string(&t.html).unwrap();
    assert!(html.contains("<svg class=\"chart\""));
    assert_eq!(
        crate::outputs::external_references(&html),
        Vec::<String>::new()
    );
    let j = common::json(&t.json);
    assert_eq!(
        j["scenarios"][0]["scenario_id"],
        "windows-credential-access"
    );

    // Without a filter every scenario has its series.
    let all = pa_reporting::trend::collect(ws.path(), None, "x").unwrap();
    assert_eq!(
        all.scenarios
            .iter()
            .map(|s| s.scenario_id.as_str())
            .collect::<Vec<_>>(),
        ["linux-discovery", "windows-credential-access"]
    );
    // An unknown scenario is an error that says so.
    let e = pa_reporting::trend::collect(ws.path(), Some("nope"), "x").unwrap_err();
    assert!(
        e.to_string()
            .contains("no run with a scoring summary for scenario nope"),
        "{e}"
    );
}
