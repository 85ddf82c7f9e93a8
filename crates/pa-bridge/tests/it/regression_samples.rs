//! SigmaHQ's regression samples (../shared/data/sigma-regression): real recorded events with the
//! rule that must fire on each. Each rule must route and resolve its fields; and the Sigma fields
//! the bridge sends to `unmapped.<Field>` (fallback) must really be source fields of the recorded
//! events, so that a normalizer keeping unmapped source fields fills them.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use pa_bridge::ResolutionKind;
use serde_json::Value;

#[test]
fn regression_rules_route_resolve_and_fallbacks_are_real_fields() {
    let data = common::shared_data();
    let b = common::bridge();

    // rule id -> rule text, over the whole SigmaHQ corpus
    let mut rule_files = Vec::new();
    common::files(&data.join("sigma"), &["yml", "yaml"], &mut rule_files);
    let mut by_id: BTreeMap<String, String> = BTreeMap::new();
    for f in rule_files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Ok(Some(k)) = common::rule_keys(&text) {
            if let Some(id) = k.id {
                by_id.insert(id, text);
            }
        }
    }
    assert!(by_id.len() > 3000, "only {} rules indexed", by_id.len());

    let mut infos = Vec::new();
    common::files(&data.join("sigma-regression"), &["yml"], &mut infos);
    infos.retain(|p| p.file_name().is_some_and(|n| n == "info.yml"));
    infos.sort();
    assert!(infos.len() >= 100, "only {} regression cases", infos.len());

    let (mut cases, mut routed, mut refs, mut resolved) = (0usize, 0usize, 0usize, 0usize);
    let (mut fb_total, mut fb_present) = (0usize, 0usize);
    let mut problems = Vec::new();
    let mut fallback_absent: BTreeMap<String, usize> = BTreeMap::new();
    for info in infos {
        let text =
            std::fs::read_to_string(&info).unwrap_or_else(|e| panic!("{}: {e}", info.display()));
        let v: Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", info.display()));
        let Some(metas) = v["rule_metadata"].as_array() else {
            continue;
        };
        let dir = info.parent().expect("dir");
        let mut samples = Vec::new();
        common::files(dir, &["json"], &mut samples);
        let event_fields: BTreeSet<String> = samples
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
            .flat_map(|ev| {
                let ed = ev["Event"]["EventData"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                ed.keys().cloned().collect::<Vec<_>>()
            })
            .collect();
        for m in metas {
            let Some(id) = m["id"].as_str() else { continue };
            let Some(rule_text) = by_id.get(id) else {
                problems.push(format!("{}: rule {id} not in the corpus", info.display()));
                continue;
            };
            let Ok(Some(keys)) = common::rule_keys(rule_text) else {
                continue;
            };
            cases += 1;
            let r = match b.routed(&keys.logsource) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{id}: {e}"));
                    continue;
                }
            };
            routed += 1;
            for f in &keys.fields {
                refs += 1;
                match r.resolve_by_class(f) {
                    Ok(res) => {
                        resolved += 1;
                        if res.kind == ResolutionKind::Fallback && !event_fields.is_empty() {
                            fb_total += 1;
                            if event_fields.contains(&res.sigma_field) {
                                fb_present += 1;
                            } else {
                                *fallback_absent
                                    .entry(format!("{} {}", r.route().route_id, res.sigma_field))
                                    .or_insert(0) += 1;
                            }
                        }
                    }
                    Err(e) => problems.push(format!("{id}: {e}")),
                }
            }
        }
    }
    println!(
        "regression cases {cases}: routed {routed}; field refs {refs} resolved {resolved}; fallback fields present in the recorded event {fb_present}/{fb_total}"
    );
    println!("fallback fields absent from their sample: {fallback_absent:?}");
    for p in &problems {
        println!("problem: {p}");
    }
    assert!(cases >= 100, "{cases} cases");
    assert!(
        routed as f64 >= 0.97 * cases as f64,
        "routed {routed}/{cases}"
    );
    assert!(
        resolved as f64 >= 0.97 * refs as f64,
        "resolved {resolved}/{refs}"
    );
    // fallback fields are real source fields: most are present in the sample of their rule
    // (a rule may OR alternatives, so not all of them need to be present in one event)
    assert!(
        fb_total == 0 || fb_present * 10 >= fb_total * 8,
        "fallback present {fb_present}/{fb_total}"
    );
}
