//! The Purple Axiom reference bridge fixtures (../shared/data/purple-axiom-ref/fixtures/bridge).
//!
//! Checked here (the bridge's part): routing, field resolution and event scope. The fixture
//! spells the routing failure `unrouted_logsource`; our reason code is `unroutable_logsource`.
//!
//! Not checked here: the expected matches themselves (1111… → evt-1, 2222… → evt-3) need the Sigma
//! engine. Once pa-sigma lands, the detection stage's test will, for each rule in
//! `rules/compilation`: route it with `Bridge::route`, give pa-sigma a resolver that maps each
//! field through `Routed::resolve` (the returned `path` is the opaque key), keep the events of
//! `backend/golden_telemetry.jsonl` for which `Route::in_scope` holds, read the event values at
//! the resolved paths with `pa_bridge::event::values_at`, evaluate, and compare the matched
//! `metadata.event_id`s with `backend/expected_matches.json`. The test below already proves that
//! the expected events are in scope and carry values at the resolved paths.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use pa_bridge::event::values_at;
use pa_bridge::{LogSource, ReasonCode, ResolutionKind};
use serde_json::Value;

fn fixtures() -> PathBuf {
    common::shared_data().join("purple-axiom-ref/fixtures/bridge")
}

fn rule(rel: &str) -> common::RuleKeys {
    let p = fixtures().join("rules").join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    common::rule_keys(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .unwrap_or_else(|| panic!("{}: no logsource", p.display()))
}

fn fixture_reason(code: &str) -> ReasonCode {
    match code {
        "unrouted_logsource" | "unroutable_logsource" => ReasonCode::UnroutableLogsource,
        "unmapped_field" => ReasonCode::UnmappedField,
        "ambiguous_field_alias" => ReasonCode::AmbiguousFieldAlias,
        other => panic!("reason {other} is not a bridge reason"),
    }
}

#[test]
fn unrouted_logsource_fails_with_our_reason_code() {
    let b = common::bridge();
    let r = rule("failures/fail_unrouted_logsource.yaml");
    let e = b.route(&r.logsource).expect_err("must not route");
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("backend/expected_matches.json")).expect("read"),
    )
    .expect("json");
    let want = expected["matches"]
        .as_array()
        .and_then(|m| m.iter().find(|x| x["rule_id"].as_str() == r.id.as_deref()))
        .and_then(|x| x["expected_reason_code"].as_str())
        .expect("expected reason for the unrouted rule");
    assert_eq!(e.reason_code, fixture_reason(want));
    assert_eq!(e.reason_code.as_str(), "unroutable_logsource");
    // field resolution of an unroutable rule fails the same way
    let fe = b
        .resolve_field(&r.logsource, "Field")
        .expect_err("unroutable");
    assert_eq!(fe.reason_code, ReasonCode::UnroutableLogsource);
}

#[test]
fn unmapped_field_fails_with_fallback_disabled_and_enabled() {
    let r = rule("failures/fail_unmapped_field.yaml");
    assert_eq!(r.fields, ["UnknownProprietaryField"]);
    for enabled in [false, true] {
        let b = common::bridge().with_fallback_enabled(enabled);
        b.route(&r.logsource).expect("process_creation routes");
        let e = b
            .resolve_field(&r.logsource, &r.fields[0])
            .expect_err("unmapped");
        assert_eq!(
            e.reason_code,
            ReasonCode::UnmappedField,
            "fallback enabled={enabled}"
        );
        assert_eq!(e.field.as_deref(), Some("UnknownProprietaryField"));
    }
    // a listed fallback field resolves only while the policy is on
    let ls = r.logsource.clone();
    let on = common::bridge()
        .resolve_field(&ls, "Hashes|contains")
        .expect("fallback");
    assert_eq!(on.kind, ResolutionKind::Fallback);
    assert_eq!(on.path, "unmapped.Hashes");
    let off = common::bridge()
        .with_fallback_enabled(false)
        .resolve_field(&ls, "Hashes");
    assert_eq!(off.expect_err("off").reason_code, ReasonCode::UnmappedField);
}

/// `fail_unsupported_regex.yaml` is not valid YAML (an unquoted `: ` inside its description), so
/// it fails at rule loading before it reaches the bridge; its field still resolves here.
#[test]
fn regex_rule_is_invalid_yaml_and_its_field_resolves() {
    let p = fixtures().join("rules/failures/fail_unsupported_regex.yaml");
    let text = std::fs::read_to_string(&p).expect("read");
    let err = common::rule_keys(&text).expect_err("invalid YAML");
    assert!(err.contains("line 4"), "{err}");
    let b = common::bridge();
    let ls = LogSource::new(Some("windows"), Some("process_creation"), None);
    let res = b.resolve_field(&ls, "CommandLine|re").expect("resolves");
    assert_eq!(res.kind, ResolutionKind::Alias);
    assert_eq!(res.path, "process.cmd_line");
}

#[test]
fn router_fixture_agrees_where_the_taxonomy_has_the_logsource() {
    let b = common::bridge();
    let t: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("router/router_table_fixture.json"))
            .expect("read"),
    )
    .expect("json");
    let routes = t["routes"].as_array().expect("routes");
    let mut checked = 0;
    for r in routes {
        let ls = &r["sigma_logsource"];
        let logsource = LogSource::new(
            ls["product"].as_str(),
            ls["category"].as_str(),
            ls["service"].as_str(),
        );
        let want: Vec<u32> = r["ocsf_scope"]["class_uids"]
            .as_array()
            .expect("class_uids")
            .iter()
            .filter_map(|v| v.as_u64().and_then(|x| u32::try_from(x).ok()))
            .collect();
        // linux/file_access is not a Sigma taxonomy logsource: the fixture only shows a
        // multi-class route there; we do not route it.
        if logsource.category.as_deref() == Some("file_access")
            && logsource.product.as_deref() == Some("linux")
        {
            assert_eq!(
                b.route(&logsource).expect_err("not routed").reason_code,
                ReasonCode::UnroutableLogsource
            );
            continue;
        }
        assert_eq!(
            b.route(&logsource).expect("routes").class_uids,
            want,
            "{}",
            logsource.key()
        );
        checked += 1;
    }
    assert_eq!(checked, 1);
}

#[test]
fn compilation_rules_resolve_and_expected_events_are_in_scope() {
    let b = common::bridge();
    let events: Vec<Value> =
        std::fs::read_to_string(fixtures().join("backend/golden_telemetry.jsonl"))
            .expect("read")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("event json"))
            .collect();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("backend/expected_matches.json")).expect("read"),
    )
    .expect("json");
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in expected["matches"].as_array().expect("matches") {
        if m.get("expected_status").is_none() {
            let ids = m["expected_event_ids"]
                .as_array()
                .expect("ids")
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            want.insert(m["rule_id"].as_str().expect("rule_id").to_string(), ids);
        }
    }
    assert_eq!(want.len(), 2);
    for rel in [
        "compilation/valid_process_creation.yaml",
        "compilation/valid_network_exists.yaml",
    ] {
        let r = rule(rel);
        let id = r.id.clone().expect("id");
        let route = b.route(&r.logsource).expect("routes");
        let resolved: Vec<(String, String)> = r
            .fields
            .iter()
            .map(|f| {
                let res = b
                    .resolve_field(&r.logsource, f)
                    .unwrap_or_else(|e| panic!("{rel}: {e}"));
                assert_eq!(res.kind, ResolutionKind::Alias, "{rel} {f}");
                (f.clone(), res.path)
            })
            .collect();
        let in_scope: Vec<&str> = events
            .iter()
            .filter(|e| route.in_scope(e))
            .filter_map(|e| e["metadata"]["event_id"].as_str())
            .collect();
        let expected_ids = want.get(&id).expect("expected entry");
        for eid in expected_ids {
            assert!(
                in_scope.contains(&eid.as_str()),
                "{id}: {eid} not in scope {in_scope:?}"
            );
            let ev = events
                .iter()
                .find(|e| e["metadata"]["event_id"] == eid.as_str())
                .expect("event");
            // every positive (non-`exists: false`) field has a value in the expected event
            for (f, p) in &resolved {
                let present = !values_at(ev, p).is_empty();
                if f == "DestinationHostname" {
                    assert!(!present, "{eid}: {p} must be absent for `exists: false`");
                } else {
                    assert!(present, "{eid}: no value at {p} for {f}");
                }
            }
        }
    }
}
