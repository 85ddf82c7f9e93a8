//! Differential test against an independent Sigma implementation: the `rsigma` crates
//! (`rsigma-parser` + `rsigma-eval` 0.23, dev-dependencies only).
//!
//! Both implementations load every SigmaHQ rule file of the positive corpus directories and
//! evaluate every rule both can run on the same flat, Sigma-named events: (a) every event of every
//! SigmaHQ regression sample and (b) every derived row of the Linux audit lab. The sets of
//! (rule id, event) hits must be equal except for the disagreements listed in [`KNOWN`], each with
//! the specification text that shows which side is right. The list is exact: an unlisted
//! disagreement fails the test, and so does a listed one that no longer occurs.

mod common;

use pa_sigma::{
    CompileOptions, Engine, IdentityResolver, JsonEvent, SigmaJsonEvent, compile_ruleset,
    load_paths,
};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which implementation fires where the other does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    /// pa-sigma fires, rsigma does not.
    OursOnly,
    /// rsigma fires, pa-sigma does not.
    RsigmaOnly,
}

/// A disagreement that is explained: (rule id, event label, side, cause).
type Known = (&'static str, &'static str, Side, &'static str);

/// Every known disagreement between pa-sigma and rsigma 0.23 on the test events.
const KNOWN: &[Known] = &[];

/// One event both implementations see: a label for messages and the flat JSON object.
struct Ev {
    label: String,
    flat: Value,
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn scalar_or_text(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("#text").unwrap_or(v),
        _ => v,
    }
}

/// Flatten an evtx-JSON event (`{"Event": {"System", "EventData", "UserData"}}`) into one object
/// of Sigma field names, with the precedence [`SigmaJsonEvent`] documents: `EventData` fields,
/// then named `Data` elements, then `UserData` element fields, then `System` fields (their
/// `#text`), then `System` attributes as `Element_Attribute`.
fn flatten(v: &Value) -> Value {
    let Some(ev) = v.get("Event") else {
        return v.clone();
    };
    let mut out = Map::new();
    let mut put = |k: &str, v: &Value| {
        if !out.contains_key(k) {
            out.insert(k.to_owned(), v.clone());
        }
    };
    if let Some(Value::Object(data)) = ev.get("EventData") {
        for (k, v) in data {
            if k != "#attributes" && k != "Data" {
                put(k, scalar_or_text(v));
            }
        }
        let items: &[Value] = match data.get("Data") {
            Some(Value::Array(a)) => a,
            Some(v @ Value::Object(_)) => std::slice::from_ref(v),
            _ => &[],
        };
        for d in items {
            if let Some(name) = d
                .get("#attributes")
                .and_then(|a| a.get("Name"))
                .and_then(Value::as_str)
            {
                put(name, d.get("#text").unwrap_or(&Value::Null));
            }
        }
    }
    if let Some(Value::Object(user)) = ev.get("UserData") {
        for elem in user.values() {
            if let Value::Object(fields) = elem {
                for (k, v) in fields {
                    put(k, scalar_or_text(v));
                }
            }
        }
    }
    if let Some(Value::Object(sys)) = ev.get("System") {
        for (k, v) in sys {
            put(k, scalar_or_text(v));
        }
        for (k, v) in sys {
            if let Some(Value::Object(attrs)) = v.get("#attributes") {
                for (a, av) in attrs {
                    put(&format!("{k}_{a}"), av);
                }
            }
        }
    }
    Value::Object(out)
}

/// Every event of every regression sample (the `.json` beside each `.evtx`), flattened.
fn regression_events(data: &Path) -> Vec<(Ev, SigmaJsonEvent)> {
    let reg = data.join("sigma-regression");
    let mut paths = Vec::new();
    files(&reg, "json", &mut paths);
    assert!(
        paths.len() >= 130,
        "{}: expected the SigmaHQ regression samples, found {} .json files",
        reg.display(),
        paths.len()
    );
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let events = SigmaJsonEvent::read_all(&text)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", p.display()));
        let rel = p.strip_prefix(&reg).unwrap_or(&p).display().to_string();
        for (i, e) in events.into_iter().enumerate() {
            out.push((
                Ev {
                    label: format!("reg:{rel}#{i}"),
                    flat: flatten(&e.value),
                },
                e,
            ));
        }
    }
    out
}

/// Every derived row of the Linux audit lab (already flat, with Sigma field names).
fn lab_events(data: &Path) -> Vec<Ev> {
    let lab = data.join("linux-audit-lab/derived");
    let mut out = Vec::new();
    for (table, file) in [
        ("process_creation", "process_creation.jsonl"),
        ("auditd", "auditd_records.jsonl"),
        ("file_event", "file_event.jsonl"),
    ] {
        let p = lab.join(file);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let flat: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: invalid JSON: {e}", p.display(), n + 1));
            out.push(Ev {
                label: format!("lab:{table}:{}", n + 1),
                flat,
            });
        }
    }
    out
}

/// rsigma: parse every rule file, compile every detection rule; returns the engine and the ids
/// of the rules it compiled (first occurrence of an id), plus the count of files/rules it refused.
struct Oracle {
    engine: rsigma_eval::Engine,
    ids: BTreeSet<String>,
    parse_failures: Vec<String>,
    compile_failures: Vec<String>,
}

fn oracle(dirs: &[PathBuf]) -> Oracle {
    let mut paths = Vec::new();
    for d in dirs {
        files(d, "yml", &mut paths);
    }
    let mut parse_failures = Vec::new();
    let mut compile_failures = Vec::new();
    let mut rules = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        match rsigma_parser::parse_sigma_yaml(&text) {
            Ok(c) => {
                for e in &c.errors {
                    parse_failures.push(format!("{}: {e}", p.display()));
                }
                assert!(
                    c.filters.is_empty(),
                    "{}: filter documents in the corpus need global application",
                    p.display()
                );
                for r in c.rules {
                    if r.id.as_deref().is_some_and(|id| seen.insert(id.to_owned())) {
                        rules.push(r);
                    }
                }
            }
            Err(e) => parse_failures.push(format!("{}: {e}", p.display())),
        }
    }
    let mut engine = rsigma_eval::Engine::new();
    let errors = engine.add_rules(rules.iter());
    for (i, e) in &errors {
        compile_failures.push(format!("{:?}: {e}", rules[*i].id));
    }
    let ids = engine.rules().iter().filter_map(|r| r.id.clone()).collect();
    Oracle {
        engine,
        ids,
        parse_failures,
        compile_failures,
    }
}

#[test]
fn pa_sigma_agrees_with_rsigma() {
    let t0 = Instant::now();
    let data = common::data_dir();
    let dirs = common::positive_rule_dirs();
    let set = load_paths(&dirs);
    assert_eq!(
        set.filter_documents, 0,
        "filter documents in the corpus: rsigma needs them applied globally"
    );
    let compiled = compile_ruleset(&set, &IdentityResolver, &CompileOptions::default());
    let orc = oracle(&dirs);
    let ours_ids: BTreeSet<String> = compiled.rules.iter().filter_map(|r| r.id.clone()).collect();
    let both: BTreeSet<&String> = ours_ids.intersection(&orc.ids).collect();
    let ours_rules: Vec<_> = compiled
        .rules
        .iter()
        .filter(|r| r.id.as_ref().is_some_and(|id| both.contains(id)))
        .cloned()
        .collect();
    let ours = Engine::new(ours_rules.clone()).expect("engine");
    println!(
        "rules: pa-sigma {} executable, rsigma {} compiled ({} files/documents unparsed, {} rules \
         refused), {} compared; only ours {}, only rsigma {}",
        ours_ids.len(),
        orc.ids.len(),
        orc.parse_failures.len(),
        orc.compile_failures.len(),
        both.len(),
        ours_ids.difference(&orc.ids).count(),
        orc.ids.difference(&ours_ids).count()
    );
    println!("loaded in {:.1?}", t0.elapsed());
    for id in orc.ids.difference(&ours_ids) {
        let why = compiled
            .non_executable
            .iter()
            .find(|n| n.rule_id.as_deref() == Some(id.as_str()))
            .map(|n| {
                format!(
                    "{} {}:{} {}",
                    n.reason_code,
                    n.file.display(),
                    n.line,
                    n.message
                )
            });
        println!("  only rsigma runs {id}: {why:?}");
    }
    for f in orc.parse_failures.iter().chain(&orc.compile_failures) {
        println!("  rsigma refuses {f}");
    }

    let reg = regression_events(&data);
    // The flattening must show pa-sigma the event it sees in the evtx-JSON shape.
    for (ev, nested) in &reg {
        assert_eq!(
            ours.matches(nested),
            ours.matches(&JsonEvent::new(ev.flat.clone())),
            "{}: flattened event is not what pa-sigma sees nested",
            ev.label
        );
    }
    let mut events: Vec<Ev> = reg.into_iter().map(|(e, _)| e).collect();
    let n_reg = events.len();
    events.extend(lab_events(&data));

    let mut agreed = 0usize;
    let mut found: BTreeSet<(String, String, Side)> = BTreeSet::new();
    for ev in &events {
        let mine: BTreeSet<String> = ours
            .matches(&JsonEvent::new(ev.flat.clone()))
            .into_iter()
            .filter_map(|i| ours_rules[i].id.clone())
            .collect();
        let theirs: BTreeSet<String> = orc
            .engine
            .evaluate(&rsigma_eval::JsonEvent::borrow(&ev.flat))
            .into_iter()
            .filter_map(|r| r.header.rule_id)
            .filter(|id| both.contains(id))
            .collect();
        agreed += mine.intersection(&theirs).count();
        for id in mine.difference(&theirs) {
            found.insert((id.clone(), ev.label.clone(), Side::OursOnly));
        }
        for id in theirs.difference(&mine) {
            found.insert((id.clone(), ev.label.clone(), Side::RsigmaOnly));
        }
    }
    println!(
        "events: {} ({} regression, {} lab); hits agreed {agreed}; disagreements {}; {:.1?}",
        events.len(),
        n_reg,
        events.len() - n_reg,
        found.len(),
        t0.elapsed()
    );
    for (id, label, side) in &found {
        println!("  {side:?} {id} {label}");
    }
    let known: BTreeSet<(String, String, Side)> = KNOWN
        .iter()
        .map(|(id, l, s, _)| ((*id).to_owned(), (*l).to_owned(), *s))
        .collect();
    let unlisted: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        unlisted.is_empty() && gone.is_empty(),
        "unlisted disagreements: {unlisted:#?}\nlisted but no longer seen: {gone:#?}"
    );
}
