//! Every event of the whole reference corpus — mapped to a specific class or emitted as a
//! fallback Base Event — is valid OCSF 1.7.0 with the Purple Axiom extension: all of
//! EVTX-ATTACK-SAMPLES, the Linux audit lab and the raw fixtures, validated with
//! `pa_ocsf_schema::reference_with_project_extensions()`. And no Windows record is left out:
//! every record of every channel becomes an event (no unrouted event type).
//!
//! Violations are grouped by (class, pointer with array indices as `*`, code) and printed; the
//! test fails on any. A record whose class needs a member the source does not carry is not
//! emitted in that class (the profile's `class.requires`: it takes the route's `fallback` class,
//! else it is counted as `missing_core_field`), and nothing is invented to fill one.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use pa_ocsf::{EventContext, Normalized};
use pa_sources::SourceRecord;
use serde_json::{Value, json};

/// Every input file of the corpus, sorted.
fn inputs() -> Vec<PathBuf> {
    let evtx = common::files_with_ext(&common::data("evtx/EVTX-ATTACK-SAMPLES"), "evtx");
    assert!(evtx.len() > 200, "only {} EVTX files", evtx.len());
    let mut out = evtx;
    let audit = common::files_with_ext(&common::data("linux-audit-lab/audit"), "log");
    assert!(audit.len() >= 2, "audit logs missing: {audit:?}");
    out.extend(audit);
    let raw = common::data("purple-axiom-ref/fixtures/raw");
    out.extend(common::files_with_ext(&raw, "json"));
    out.extend(common::files_with_ext(&raw, "ndjson"));
    out
}

/// `source_type:EventID` (or the audit record type) of a record, for the report.
fn tag(rec: &SourceRecord) -> String {
    let f = &rec.fields;
    let id = f
        .pointer("/System/EventID")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .or_else(|| {
            f.pointer("/records/0/type")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .or_else(|| f.get("name").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    format!("{}:{id}", rec.source_type.as_str())
}

/// `/observables/3/value` → `/observables/*/value`.
fn generic_pointer(p: &str) -> String {
    p.split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Default)]
struct Tally {
    count: u64,
    sources: BTreeMap<String, u64>,
    example: String,
}

#[test]
fn every_event_is_valid_ocsf_with_the_project_extension_and_no_windows_record_is_left_out() {
    let schema = pa_ocsf_schema::reference_with_project_extensions();
    let n = common::normalizer();
    let raw_ref = json!({"kind": "file_cursor_v1", "path": "raw/corpus", "cursor": "li:1"});
    let ctx = EventContext {
        run_id: "0f1e2d3c-0000-4000-8000-000000000001",
        scenario_id: "ocsf-valid",
        raw_ref: Some(raw_ref),
        normalizer_version: "0.1.0-test",
        collector_version: Some("test-collector 1.0"),
        host: None,
    };
    // The audit lab's logs have no node= (a single-host capture): the stage names the host
    // they were read from, as a replay of them would.
    let audit_ctx = EventContext {
        host: Some("linux-audit-lab"),
        ..ctx.clone()
    };
    let ctx_for = |rec: &SourceRecord| {
        if rec.source_type == pa_sources::SourceType::LinuxAuditd {
            &audit_ctx
        } else {
            &ctx
        }
    };
    let mut mapped = 0u64;
    let mut fallback = 0u64;
    let mut unrouted: BTreeMap<String, u64> = BTreeMap::new();
    let mut valid = 0u64;
    let mut per_class: BTreeMap<u64, u64> = BTreeMap::new();
    let mut per_source: BTreeMap<String, u64> = BTreeMap::new();
    let mut found: BTreeMap<(u64, String, String), Tally> = BTreeMap::new();
    let t = std::time::Instant::now();
    for f in inputs() {
        let Ok(reader) = pa_sources::open_auto(&f) else {
            panic!("{}: pa-sources cannot open it", f.display());
        };
        for rec in reader {
            let Ok(rec) = rec else { break };
            let out = n.normalize(&rec, ctx_for(&rec));
            let ev = match out {
                Normalized::Mapped(ev) => ev,
                Normalized::Fallback { event, .. } => {
                    fallback += 1;
                    event
                }
                Normalized::Unmapped { event_type } => {
                    if rec.source_type.as_str().starts_with("windows-") {
                        *unrouted.entry(event_type).or_default() += 1;
                    }
                    continue;
                }
                Normalized::Failed { .. } => continue,
            };
            mapped += 1;
            *per_source
                .entry(rec.source_type.as_str().to_string())
                .or_default() += 1;
            let class = ev["class_uid"].as_u64().unwrap_or(0);
            *per_class.entry(class).or_default() += 1;
            let violations = schema.validate(&ev);
            if violations.is_empty() {
                valid += 1;
            }
            for v in violations {
                let key = (class, generic_pointer(&v.pointer), v.code.to_string());
                let e = found.entry(key).or_default();
                e.count += 1;
                *e.sources.entry(tag(&rec)).or_default() += 1;
                if e.example.is_empty() {
                    e.example = format!("{}#{}: {v}", f.display(), rec.provenance.ordinal);
                }
            }
        }
    }
    println!(
        "validated {mapped} events ({fallback} of them fallback Base Events) in {:.2} s; per class: {per_class:?}",
        t.elapsed().as_secs_f64()
    );
    assert!(
        unrouted.is_empty(),
        "Windows records that became no event: {unrouted:?}"
    );
    assert!(
        fallback > 1000 && per_class.get(&0).is_some_and(|n| *n >= fallback),
        "only {fallback} fallback events: {per_class:?}"
    );
    assert!(mapped > 5000, "only {mapped} mapped events");
    println!("per source type: {per_source:?}");
    for st in [
        "linux-auditd",
        "osquery",
        "windows-powershell",
        "windows-security",
        "windows-sysmon",
        "windows-system",
    ] {
        assert!(
            per_source.get(st).is_some_and(|n| *n > 0),
            "no mapped {st} event in the corpus: {per_source:?}"
        );
    }
    // The specific classes of docs/adr/0018 on the real records that have them: Entity
    // Management (Security 4661/4662/4719/5136), Device Config State Change (Sysmon 16).
    for class in [3004, 5019] {
        assert!(
            per_class.get(&class).is_some_and(|n| *n > 0),
            "no class {class} event validated: {per_class:?}"
        );
    }
    let total: u64 = found.values().map(|t| t.count).sum();
    println!("violations: {total} in {} groups", found.len());
    for ((class, p, code), t) in &found {
        println!(
            "  {class} {p} {code} ×{} {:?}\n      e.g. {}",
            t.count, t.sources, t.example
        );
    }
    println!("{valid} of {mapped} events have no violation");
    assert!(
        found.is_empty(),
        "{total} OCSF 1.7.0 violation(s) in {} group(s): see the list above",
        found.len()
    );
}
