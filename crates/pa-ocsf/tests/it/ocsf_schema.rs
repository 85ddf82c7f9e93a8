//! Every OCSF path the authored profiles write exists in its class in OCSF 1.7.0 with the
//! project's Purple Axiom extension (and OCSF's own extensions and profiles: `process.auid`
//! of linux, `reg_value` of windows), checked with the pa-ocsf-schema validator; and every
//! activity id the corpus produces is in its class's enumeration.

use crate::common;

#[test]
fn every_target_path_is_ocsf_1_7_0() {
    let schema = pa_ocsf_schema::reference_with_project_extensions();
    let n = common::normalizer();
    let mut errors = Vec::new();
    let mut checked = 0;
    for c in n.class_targets() {
        for t in &c.targets {
            checked += 1;
            if let Err(e) = schema.check_path(c.class_uid, t) {
                errors.push(format!(
                    "{}/{} ({}): {t}: {e}",
                    c.source_type, c.class_file, c.class_uid
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} paths checked");
    assert!(
        errors.is_empty(),
        "paths not in OCSF 1.7.0 (+ purple_axiom):\n{}",
        errors.join("\n")
    );
    // the envelope members are the extension's, not ad-hoc: plain OCSF lacks them
    assert!(
        pa_ocsf_schema::reference()
            .check_path(1007, "metadata.run_id")
            .is_err()
    );
    assert!(schema.check_path(1007, "metadata.run_id").is_ok());
}

/// class_uid → activity_id values OCSF 1.7.0 defines for it (plus 0 Unknown and 99 Other).
fn activity_enums() -> std::collections::BTreeMap<u64, std::collections::BTreeSet<i64>> {
    use serde_json::Value;
    let root = common::data("ocsf-1.7.0");
    let read = |p: &std::path::Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
    };
    let cats = read(&root.join("categories.json"));
    let mut defs = std::collections::BTreeMap::new(); // name -> (json, ext)
    let mut files: Vec<(std::path::PathBuf, u64)> =
        common::files_with_ext(&root.join("events"), "json")
            .into_iter()
            .map(|p| (p, 0))
            .collect();
    files.extend(
        common::files_with_ext(&root.join("extensions/windows/events"), "json")
            .into_iter()
            .map(|p| (p, 2)),
    );
    for (p, ext) in files {
        let v = read(&p);
        if let Some(name) = v["name"].as_str() {
            defs.insert(name.to_string(), (v.clone(), ext));
        }
    }
    let mut out = std::collections::BTreeMap::new();
    for (v, ext) in defs.values() {
        let Some(uid) = v["uid"].as_u64() else {
            continue;
        };
        // the category comes from the class or the nearest parent that names one
        let mut cur = v.clone();
        let mut cat = None;
        for _ in 0..5 {
            if let Some(c) = cur["category"].as_str() {
                cat = cats["attributes"][c]["uid"].as_u64();
                break;
            }
            match cur["extends"].as_str().and_then(|e| defs.get(e)) {
                Some((p, _)) => cur = p.clone(),
                None => break,
            }
        }
        let Some(cat) = cat else { continue };
        let class_uid = ext * 100_000 + cat * 1000 + uid;
        let mut set: std::collections::BTreeSet<i64> = [0, 99].into();
        // the nearest class in the extends chain that defines the activity enum
        let mut cur = v.clone();
        for _ in 0..5 {
            if let Some(e) = cur["attributes"]["activity_id"]["enum"].as_object() {
                set.extend(e.keys().filter_map(|k| k.parse::<i64>().ok()));
                break;
            }
            match cur["extends"].as_str().and_then(|e| defs.get(e)) {
                Some((p, _)) => cur = p.clone(),
                None => break,
            }
        }
        out.insert(class_uid, set);
    }
    // base_event is the concrete class 0 (category `other`, 0) and defines its own enum
    if let Some((v, _)) = defs.get("base_event") {
        let mut set: std::collections::BTreeSet<i64> = [0, 99].into();
        if let Some(e) = v["attributes"]["activity_id"]["enum"].as_object() {
            set.extend(e.keys().filter_map(|k| k.parse::<i64>().ok()));
        }
        out.insert(0, set);
    }
    out
}

#[test]
fn activity_ids_are_in_the_class_enum() {
    let enums = activity_enums();
    assert!(
        enums.get(&1007).is_some_and(|s| s.contains(&2)),
        "schema reading is broken"
    );
    assert!(enums.get(&201001).is_some_and(|s| s.contains(&5)));
    let n = common::normalizer();
    let ctx = common::ctx();
    let mut inputs = common::files_with_ext(&common::data("evtx/EVTX-ATTACK-SAMPLES"), "evtx");
    inputs.push(common::data("linux-audit-lab/audit/audit_tagged.log"));
    inputs.extend(common::files_with_ext(
        &common::data("purple-axiom-ref/fixtures/raw"),
        "json",
    ));
    inputs.extend(common::files_with_ext(
        &common::data("purple-axiom-ref/fixtures/raw"),
        "ndjson",
    ));
    let mut seen = std::collections::BTreeSet::new();
    for f in inputs {
        let Ok(reader) = pa_sources::open_auto(&f) else {
            continue;
        };
        for rec in reader.flatten() {
            let pa_ocsf::Normalized::Mapped(ev) = n.normalize(&rec, &ctx) else {
                continue;
            };
            let class = ev["class_uid"].as_u64().expect("class_uid");
            let act = ev["activity_id"].as_i64().expect("activity_id");
            let cat = ev["category_uid"].as_u64().expect("category_uid");
            assert_eq!(ev["type_uid"].as_i64(), Some(class as i64 * 100 + act));
            assert_eq!(cat, (class % 100_000) / 1000, "{class}");
            let allowed = enums
                .get(&class)
                .unwrap_or_else(|| panic!("class {class} not in OCSF 1.7.0"));
            assert!(
                allowed.contains(&act),
                "{}: class {class} activity {act} not in {allowed:?}",
                f.display()
            );
            seen.insert((class, act));
            let sev = ev["severity_id"].as_i64().expect("severity_id");
            assert!((0..=6).contains(&sev) || sev == 99, "severity_id {sev}");
            if let Some(st) = ev.get("status_id") {
                assert!(
                    matches!(st.as_i64(), Some(0 | 1 | 2 | 99)),
                    "status_id {st}"
                );
            }
        }
    }
    println!("(class, activity) pairs seen: {seen:?}");
    assert!(seen.len() > 25, "only {} pairs", seen.len());
}
