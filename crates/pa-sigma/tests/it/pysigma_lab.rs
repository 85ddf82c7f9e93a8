//! Cross-check against pySigma: the Linux audit lab ships the hits pySigma 2.0.1 (sqlite backend)
//! computed for every SigmaHQ Linux rule over the lab's derived rows. Our engine must produce the
//! same (rule id, event id) pairs on the same rows.

use crate::common;

use pa_sigma::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn rows(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// A row whose keyword (unbound) search text is limited to some fields. Which text an unbound
/// keyword is searched in is a property of the backend configuration, not of Sigma: the lab's
/// pySigma harness searched `CommandLine` for process creations, and all fields of audit records.
struct Scoped {
    row: JsonEvent,
    keyword_fields: Option<&'static [&'static str]>,
}

impl Event for Scoped {
    fn values<'a>(&'a self, key: &str, out: &mut Vec<FieldValue<'a>>) {
        self.row.values(key, out);
    }
    fn for_each_string(&self, f: &mut dyn FnMut(&str)) {
        match self.keyword_fields {
            None => self.row.for_each_string(f),
            Some(fields) => {
                for k in fields {
                    if let Some(Value::String(s)) = self.row.value.get(*k) {
                        f(s);
                    }
                }
            }
        }
    }
}

#[test]
fn linux_lab_hits_equal_pysigma_default() {
    compare("sigma/sigma_hits_default.json", false);
}

/// The `invoked` variant: `Image` is the path as passed to execve (`ImageInvoked`), not the
/// symlink-resolved executable.
#[test]
fn linux_lab_hits_equal_pysigma_invoked() {
    compare("sigma/sigma_hits_invoked.json", true);
}

fn compare(hits_file: &str, invoked: bool) {
    let data = common::data_dir();
    let lab = data.join("linux-audit-lab");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(lab.join(hits_file)).expect("hits file"))
            .expect("hits json");
    let mut want: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for h in expected["hits"].as_array().expect("hits") {
        want.entry(h["table"].as_str().expect("table").to_owned())
            .or_default()
            .insert((
                h["rule_id"].as_str().expect("rule id").to_owned(),
                h["event_id"].as_str().expect("event id").to_owned(),
            ));
    }
    let set = load_paths(&common::positive_rule_dirs());
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    // (table, rows, category, service, keyword rules run here, keyword search fields)
    type Table = (
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        bool,
        Option<&'static [&'static str]>,
    );
    let tables: [Table; 3] = [
        (
            "process_creation",
            "derived/process_creation.jsonl",
            Some("process_creation"),
            None,
            true,
            Some(&["CommandLine"]),
        ),
        (
            "auditd",
            "derived/auditd_records.jsonl",
            None,
            Some("auditd"),
            true,
            None,
        ),
        (
            "file_event",
            "derived/file_event.jsonl",
            Some("file_event"),
            None,
            false,
            None,
        ),
    ];
    let mut report = Vec::new();
    for (table, file, category, service, generic_here, keyword_fields) in tables {
        let rules: Vec<CompiledRule> = compiled
            .rules
            .iter()
            .filter(|r| {
                let ls = &r.logsource;
                let generic = ls.category_norm.is_none() && ls.service_norm.is_none();
                ls.product_norm.as_deref() == Some("linux")
                    && ((generic && generic_here)
                        || (category.is_some() && ls.category_norm.as_deref() == category)
                        || (service.is_some() && ls.service_norm.as_deref() == service))
            })
            .cloned()
            .collect();
        let engine = Engine::new(rules.clone()).expect("engine");
        let mut got = BTreeSet::new();
        for mut row in rows(&lab.join(file)) {
            if invoked && table == "process_creation" {
                if let Some(inv) = row.get("ImageInvoked").cloned() {
                    row["Image"] = inv;
                }
            }
            // Sigma's file_event category is file creation: the lab's pySigma run fed it the
            // CREATE rows only (the DELETE rows are in the same file).
            if table == "file_event" && row["action"] != "create" {
                continue;
            }
            let eid = row["event_id"].as_str().unwrap_or_default().to_owned();
            let e = Scoped {
                row: JsonEvent::new(row),
                keyword_fields,
            };
            for i in engine.matches(&e) {
                got.insert((rules[i].id.clone().unwrap_or_default(), eid.clone()));
            }
        }
        let empty = BTreeSet::new();
        let w = want.get(table).unwrap_or(&empty);
        let missing: Vec<_> = w.difference(&got).collect();
        let extra: Vec<_> = got.difference(w).collect();
        println!(
            "{table}: {} rules, pySigma {} hits, ours {}, missing {}, extra {}",
            rules.len(),
            w.len(),
            got.len(),
            missing.len(),
            extra.len()
        );
        for m in &missing {
            println!("  MISSING {m:?}");
        }
        for x in &extra {
            println!("  EXTRA {x:?}");
        }
        report.push((table, missing.len(), extra.len()));
    }
    assert!(
        report.iter().all(|(_, m, x)| *m == 0 && *x == 0),
        "differences from pySigma: {report:?}"
    );
}
