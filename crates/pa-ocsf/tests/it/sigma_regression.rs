//! SigmaHQ regression samples: each recorded event (EVTX) normalizes to an OCSF event that the
//! Sigma bridge routes the sample's own rule to (class and filters in scope), and every
//! EventData field of the sample is found where the bridge reads it.

use crate::common;

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

fn leaves(v: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(x, &format!("{prefix}.{k}"), out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), v.clone());
        }
    }
}

/// What SigmaHQ's JSON renderings lose: surrounding whitespace of values and the GUID
/// spelling (upper case, no braces). Applied to both sides before comparing.
fn lossy(v: &mut Value) {
    match v {
        Value::String(s) => {
            let t = s.trim();
            let bare = t.trim_matches(|c| c == '{' || c == '}');
            let guid = bare.len() == 36
                && bare.bytes().enumerate().all(|(i, b)| {
                    if [8, 13, 18, 23].contains(&i) {
                        b == b'-'
                    } else {
                        b.is_ascii_hexdigit()
                    }
                });
            *s = if guid {
                bare.to_ascii_lowercase()
            } else {
                t.to_string()
            };
        }
        Value::Array(a) => a.iter_mut().for_each(lossy),
        Value::Object(m) => m.values_mut().for_each(lossy),
        _ => {}
    }
}

#[test]
fn evtx_and_json_renderings_give_the_same_events() {
    // Each sample is recorded twice (EVTX and SigmaHQ's JSON rendering, read by different
    // pa-sources readers): the identity must be identical, and the whole OCSF event identical
    // up to what the JSON rendering itself lost (see `lossy`).
    let root = common::data("sigma-regression");
    let n = common::normalizer();
    let ctx = common::ctx();
    let (mut pairs, mut events) = (0, 0);
    let mut diffs = Vec::new();
    for evtx in common::files_with_ext(&root, "evtx") {
        let json = evtx.with_extension("json");
        if !json.is_file() {
            continue;
        }
        let canon = |recs: Vec<pa_sources::SourceRecord>| -> Vec<String> {
            let mut v: Vec<String> = recs
                .iter()
                .filter_map(|r| match n.normalize(r, &ctx) {
                    Normalized::Mapped(mut ev) => {
                        lossy(&mut ev);
                        pa_canon::jcs_string(&ev).ok()
                    }
                    other => Some(format!("{other:?}")),
                })
                .collect();
            v.sort();
            v
        };
        let ra = common::records(&evtx);
        let rb = common::records(&json);
        let ids = |recs: &[pa_sources::SourceRecord]| -> Vec<String> {
            let mut v: Vec<String> = recs
                .iter()
                .filter_map(|r| match n.normalize(r, &ctx) {
                    Normalized::Mapped(ev) => {
                        ev["metadata"]["event_id"].as_str().map(str::to_string)
                    }
                    _ => None,
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&ra), ids(&rb), "{}", evtx.display());
        let a = canon(ra);
        let b = canon(rb);
        pairs += 1;
        events += a.len();
        // This sample's two recordings disagree in the data itself: ParentCommandLine is
        // "C:\Windows\Explorer.EXE" in the EVTX and "...Explorer.exe" in the JSON.
        let known_source_difference = evtx
            .to_string_lossy()
            .contains("ad691d92-15f2-4181-9aa4-723c74f9ddc3");
        if a != b && !known_source_difference {
            let mut detail = Vec::new();
            for (x, y) in a.iter().zip(&b) {
                let (Ok(x), Ok(y)) = (
                    serde_json::from_str::<Value>(x),
                    serde_json::from_str::<Value>(y),
                ) else {
                    continue;
                };
                let (mut fx, mut fy) = (BTreeMap::new(), BTreeMap::new());
                leaves(&x, "", &mut fx);
                leaves(&y, "", &mut fy);
                for k in fx
                    .keys()
                    .chain(fy.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                {
                    if fx.get(k) != fy.get(k) {
                        detail.push(format!(
                            "    {k}: evtx {:?} json {:?}",
                            fx.get(k),
                            fy.get(k)
                        ));
                    }
                }
            }
            diffs.push(format!(
                "{} ({} vs {} events):\n{}",
                evtx.display(),
                a.len(),
                b.len(),
                detail.join("\n")
            ));
        }
    }
    println!("{pairs} sample pairs, {events} events");
    assert!(pairs > 100);
    assert!(
        diffs.is_empty(),
        "{} samples differ:\n{}",
        diffs.len(),
        diffs.iter().take(3).cloned().collect::<Vec<_>>().join("\n")
    );
}
