//! SigmaHQ regression samples: each recorded event (EVTX) normalizes to an OCSF event that the
//! Sigma bridge routes the sample's own rule to (class and filters in scope), and every
//! EventData field of the sample is found where the bridge reads it.

mod common;

use std::collections::BTreeMap;

use pa_bridge::{Bridge, LogSource};
use pa_ocsf::Normalized;
use serde_json::Value;

/// The rule file of a sample: `sigma/<sample dir>.yml`, else the rule whose `id` is the
/// `rule_metadata` id of the sample's info.yml (rules get renamed).
fn rule_file(
    sigma: &std::path::Path,
    root: &std::path::Path,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    let rel = dir.strip_prefix(root).expect("under root");
    let direct = sigma.join(format!("{}.yml", rel.display()));
    if direct.is_file() {
        return direct;
    }
    let info = std::fs::read_to_string(dir.join("info.yml")).unwrap_or_default();
    let info: Value = serde_saphyr::from_str(&info).unwrap_or(Value::Null);
    let id = info
        .pointer("/rule_metadata/0/id")
        .and_then(Value::as_str)
        .unwrap_or("-");
    let needle = format!("id: {id}");
    common::files_with_ext(sigma, "yml")
        .into_iter()
        .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.trim() == needle)))
        .unwrap_or(direct)
}

fn logsource_of(rule: &std::path::Path) -> Option<LogSource> {
    let text = std::fs::read_to_string(rule).ok()?;
    let v: Value = serde_saphyr::from_str(&text).ok()?;
    let ls = v.get("logsource")?;
    let f = |k: &str| ls.get(k).and_then(Value::as_str);
    Some(LogSource::new(f("product"), f("category"), f("service")))
}

#[test]
fn regression_samples_reach_their_rules() {
    let root = common::data("sigma-regression");
    let sigma = common::data("sigma");
    let bridge = Bridge::load(common::repo_root().join("mappings/bridge")).expect("bridge");
    let n = common::normalizer();
    let ctx = common::ctx();
    let samples = common::files_with_ext(&root, "evtx");
    assert!(samples.len() > 100, "only {} samples", samples.len());
    let (mut in_scope, mut routable, mut fields_checked) = (0, 0, 0);
    let mut problems: BTreeMap<String, u64> = BTreeMap::new();
    for evtx in &samples {
        let dir = evtx.parent().expect("dir");
        let rel = dir.strip_prefix(&root).expect("under root");
        let rule = rule_file(&sigma, &root, dir);
        let Some(ls) = logsource_of(&rule) else {
            *problems
                .entry(format!("no rule file {}", rule.display()))
                .or_default() += 1;
            continue;
        };
        let Ok(routed) = bridge.routed(&ls) else {
            continue;
        };
        routable += 1;
        let mut any = false;
        for rec in common::records(evtx) {
            let out = n.normalize(&rec, &ctx);
            let ev = match &out {
                Normalized::Mapped(ev) => ev,
                other => {
                    *problems
                        .entry(format!("{}: {other:?}", rel.display()))
                        .or_default() += 1;
                    continue;
                }
            };
            if !routed.route().in_scope(ev) {
                continue;
            }
            any = true;
            let class = ev["class_uid"].as_u64().unwrap_or(0) as u32;
            if let Some(data) = rec.fields.get("EventData").and_then(Value::as_object) {
                for (field, v) in data {
                    let Some(s) = v.as_str() else { continue };
                    if ["", "-"].contains(&s.trim()) {
                        continue;
                    }
                    let Ok(res) = routed.resolve_by_class(field) else {
                        continue;
                    };
                    let Some(path) = res.paths.get(&class) else {
                        continue;
                    };
                    fields_checked += 1;
                    if pa_bridge::event::values_at(ev, path).is_empty() {
                        *problems.entry(format!("{field} -> {path}")).or_default() += 1;
                    }
                }
            }
        }
        if any {
            in_scope += 1;
        } else {
            *problems
                .entry(format!(
                    "{}: no event in scope of route {}",
                    rel.display(),
                    routed.route().route_id
                ))
                .or_default() += 1;
        }
    }
    println!(
        "{routable} routable samples, {in_scope} with an in-scope event, {fields_checked} field values checked"
    );
    let list: Vec<String> = problems
        .iter()
        .map(|(k, v)| format!("  x{v} {k}"))
        .collect();
    assert!(problems.is_empty(), "problems:\n{}", list.join("\n"));
    assert!(routable > 100 && in_scope == routable);
}
