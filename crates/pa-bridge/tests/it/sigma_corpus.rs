//! Every SigmaHQ rule under rules/windows and rules/linux goes through `route` and
//! `Routed::resolve_by_class` (as the detector resolves fields: one path per routed class).
//! Targets: >= 95% of the Windows rules route, and >= 97% of the field references of routed
//! rules (Windows and Linux) resolve (alias or fallback).

use crate::common;

use std::collections::BTreeMap;

use pa_bridge::{Bridge, CoverageAccumulator, ReasonCode, ResolutionKind, RuleOutcome};

#[derive(Default)]
struct Tally {
    rules: usize,
    parse_errors: Vec<String>,
    routed: usize,
    refs: usize,
    alias: usize,
    fallback: usize,
    unroutable: BTreeMap<String, usize>,
    unresolved: BTreeMap<String, usize>,
    ambiguous: BTreeMap<String, usize>,
}

fn run(b: &Bridge, sub: &str, acc: &mut CoverageAccumulator) -> Tally {
    let root = common::shared_data().join("sigma/rules").join(sub);
    let mut files = Vec::new();
    common::files(&root, &["yml", "yaml"], &mut files);
    files.sort();
    assert!(
        files.len() > 100,
        "{}: only {} rules",
        root.display(),
        files.len()
    );
    let mut t = Tally::default();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let keys = match common::rule_keys(&text) {
            Ok(Some(k)) => k,
            Ok(None) => continue,
            Err(e) => {
                t.parse_errors.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        t.rules += 1;
        let ls = keys.logsource.normalized();
        let routed = match b.routed(&ls) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(e.reason_code, ReasonCode::UnroutableLogsource);
                *t.unroutable.entry(ls.key()).or_insert(0) += 1;
                acc.add(&RuleOutcome::non_executable(false, e.reason_code.as_str()));
                continue;
            }
        };
        t.routed += 1;
        let mut fallback_used = false;
        let mut unmapped = Vec::new();
        let mut first_reason = None;
        for field in &keys.fields {
            t.refs += 1;
            // Informational: fields whose alias differs between the routed classes, which a
            // single-path consumer (`Routed::resolve`) reports as ambiguous.
            if let Err(e) = routed.resolve(field) {
                if e.reason_code == ReasonCode::AmbiguousFieldAlias {
                    let key = format!("{} {field}", routed.route().route_id);
                    *t.ambiguous.entry(key).or_insert(0) += 1;
                }
            }
            // What the detector does: one path per routed class.
            match routed.resolve_by_class(field) {
                Ok(r) if r.kind == ResolutionKind::Alias => {
                    t.alias += 1;
                    fallback_used |= !r.fallback_classes.is_empty();
                }
                Ok(_) => {
                    t.fallback += 1;
                    fallback_used = true;
                }
                Err(e) => {
                    let key = format!("{} {field}", routed.route().route_id);
                    *t.unresolved.entry(key).or_insert(0) += 1;
                    unmapped.push(field.clone());
                    first_reason.get_or_insert(e.reason_code);
                }
            }
        }
        acc.add(&match first_reason {
            None => RuleOutcome::executable(false, fallback_used),
            Some(r) => RuleOutcome::non_executable(true, r.as_str())
                .with_fallback_used(fallback_used)
                .with_unmapped_fields(unmapped),
        });
    }
    t
}

fn share(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

fn top(m: &BTreeMap<String, usize>, n: usize) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = m.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

#[test]
fn sigma_corpus_routes_and_resolves() {
    let b = common::bridge();
    let mut acc = CoverageAccumulator::new();
    let win = run(&b, "windows", &mut acc);
    let lin = run(&b, "linux", &mut acc);
    for (name, t) in [("windows", &win), ("linux", &lin)] {
        println!(
            "{name}: rules {} routed {} ({:.4}); field refs of routed rules {} resolved per class {} ({:.4}; alias {}, fallback {}); differing per-class aliases {}; parse errors {}",
            t.rules,
            t.routed,
            share(t.routed, t.rules),
            t.refs,
            t.alias + t.fallback,
            share(t.alias + t.fallback, t.refs),
            t.alias,
            t.fallback,
            t.ambiguous.values().sum::<usize>(),
            t.parse_errors.len()
        );
        println!("  unroutable logsources: {:?}", top(&t.unroutable, 40));
        println!("  top unresolved fields: {:?}", top(&t.unresolved, 30));
        println!(
            "  fields with per-class aliases: {:?}",
            top(&t.ambiguous, 10)
        );
        for e in &t.parse_errors {
            println!("  parse error: {e}");
        }
    }
    let cov = acc.finish(10);
    println!("coverage: {}", serde_json::to_string(&cov).expect("json"));
    assert_eq!(cov.total_rules as usize, win.rules + lin.rules);
    assert_eq!(
        cov.executable_rules + cov.non_executable_rules,
        cov.total_rules
    );

    // the corpus is real YAML: at most a handful may fail to parse
    assert!(
        win.parse_errors.len() + lin.parse_errors.len() <= 5,
        "parse errors"
    );
    let win_routed = share(win.routed, win.rules);
    assert!(
        win_routed >= 0.95,
        "windows routed share {win_routed:.4} < 0.95"
    );
    let refs = win.refs + lin.refs;
    let resolved = win.alias + win.fallback + lin.alias + lin.fallback;
    let resolved_share = share(resolved, refs);
    assert!(
        resolved_share >= 0.97,
        "resolved share {resolved_share:.4} < 0.97"
    );
    let lin_routed = share(lin.routed, lin.rules);
    assert!(
        lin_routed >= 0.85,
        "linux routed share {lin_routed:.4} < 0.85"
    );
}

/// Every SigmaHQ Linux rule that fires in the real Linux audit capture
/// (linux-audit-lab/sigma/expected_detections.json) must route and resolve all its fields, or
/// the detection stage could never reproduce those detections.
#[test]
fn rules_that_fire_in_the_linux_lab_route_and_resolve() {
    let b = common::bridge();
    let data = common::shared_data();
    let p = data.join("linux-audit-lab/sigma/expected_detections.json");
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut paths: Vec<String> = v
        .as_object()
        .expect("object")
        .values()
        .flat_map(|t| t["sigma_rules"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["rule_path"].as_str().map(str::to_string))
        .collect();
    paths.sort();
    paths.dedup();
    assert!(paths.len() >= 10, "only {} rules", paths.len());
    let mut problems = Vec::new();
    for rel in &paths {
        let f = data.join("sigma").join(rel);
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let keys = common::rule_keys(&text)
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .unwrap_or_else(|| panic!("{rel}: no logsource"));
        match b.routed(&keys.logsource) {
            Err(e) => problems.push(format!("{rel}: {e}")),
            Ok(r) => {
                for fld in &keys.fields {
                    if let Err(e) = r.resolve(fld) {
                        problems.push(format!("{rel}: {e}"));
                    }
                }
            }
        }
    }
    println!("{} lab rules checked", paths.len());
    common::assert_no_problems(&problems);
}
