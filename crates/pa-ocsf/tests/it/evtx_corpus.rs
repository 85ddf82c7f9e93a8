//! The whole EVTX-ATTACK-SAMPLES corpus through pa-sources and the authored profiles:
//! every record accounted for, mapped share per channel, determinism, and a cross-check that
//! every EventData field a Sigma rule can name is found where the Sigma bridge looks for it.

use crate::common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use pa_bridge::{Bridge, LogSource};
use pa_ocsf::{Coverage, Normalized};
use pa_sources::SourceRecord;
use serde_json::Value;

const SYSMON_IDS: [i64; 18] = [
    1, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 17, 18, 22, 23, 25, 26,
];
const SECURITY_IDS: [i64; 23] = [
    4624, 4625, 4634, 4648, 4656, 4663, 4672, 4688, 4689, 4697, 4698, 4720, 4722, 4724, 4728, 4732,
    4738, 4768, 4769, 4776, 5140, 5145, 1102,
];

struct Corpus {
    records: Vec<SourceRecord>,
    outcomes: Vec<Normalized>,
}

fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let dir = common::data("evtx/EVTX-ATTACK-SAMPLES");
        let files = common::files_with_ext(&dir, "evtx");
        assert!(
            files.len() > 200,
            "only {} EVTX files under {}",
            files.len(),
            dir.display()
        );
        let n = common::normalizer();
        let ctx = common::ctx();
        let mut records = Vec::new();
        for f in &files {
            let Ok(reader) = pa_sources::open(f, pa_sources::SourceFormat::Evtx) else {
                continue; // not an EVTX file despite the extension: pa-sources' concern
            };
            for r in reader {
                match r {
                    Ok(rec) => records.push(rec),
                    Err(_) => break,
                }
            }
        }
        let t = std::time::Instant::now();
        let outcomes: Vec<Normalized> = records.iter().map(|r| n.normalize(r, &ctx)).collect();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "normalized {} records in {:.3} s ({:.0} records/s, this build's profile)",
            records.len(),
            secs,
            records.len() as f64 / secs.max(1e-9)
        );
        Corpus { records, outcomes }
    })
}

fn event_id(rec: &SourceRecord) -> Option<i64> {
    rec.fields
        .pointer("/System/EventID")
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse().ok())
}

#[test]
fn every_record_is_accounted_and_listed_ids_are_mapped() {
    let c = corpus();
    assert!(c.records.len() > 7000, "only {} records", c.records.len());
    let n = common::normalizer();
    let mut cov = Coverage::new(&n);
    // (source_type) -> (total, mapped, listed_total, listed_mapped)
    let mut per: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
    let mut failures: BTreeMap<String, u64> = BTreeMap::new();
    for (rec, out) in c.records.iter().zip(&c.outcomes) {
        cov.add(rec, out);
        let st = rec.source_type.as_str();
        let listed = match (st, event_id(rec)) {
            ("windows-sysmon", Some(id)) => SYSMON_IDS.contains(&id),
            ("windows-security", Some(id)) => SECURITY_IDS.contains(&id),
            _ => false,
        };
        let e = per.entry(st).or_default();
        e[0] += 1;
        if listed {
            e[2] += 1;
        }
        match out {
            Normalized::Mapped(ev) => {
                e[1] += 1;
                if listed {
                    e[3] += 1;
                }
                assert!(ev.get("time").and_then(Value::as_i64).is_some());
            }
            Normalized::Unmapped { event_type } => {
                assert!(event_type.starts_with(st), "{event_type}");
            }
            Normalized::Fallback { event, event_type } => {
                assert!(event_type.starts_with(st), "{event_type}");
                assert_eq!(event["class_uid"], 0, "{event_type}");
                assert!(event.get("time").and_then(Value::as_i64).is_some());
            }
            Normalized::Failed {
                reason_code,
                message,
            } => {
                assert!(!message.is_empty() && !reason_code.is_empty());
                *failures
                    .entry(format!("{st}:{:?} {reason_code}: {message}", event_id(rec)))
                    .or_default() += 1;
            }
        }
    }
    let mapped: Vec<&Value> = c
        .outcomes
        .iter()
        .filter_map(|o| match o {
            Normalized::Mapped(v) => Some(v),
            _ => None,
        })
        .collect();
    let present: usize = mapped
        .iter()
        .map(|e| pa_ocsf::tier1_fields_present(e))
        .sum();
    println!(
        "tier-1 field coverage over all mapped events: {:.4}",
        present as f64 / (mapped.len() * 12).max(1) as f64
    );
    println!("mapped share per source type (all records | listed event ids):");
    for (st, [t, m, lt, lm]) in &per {
        println!(
            "  {st:20} {m:5}/{t:5} = {:.4} | {lm:5}/{lt:5} = {:.4}",
            pa_ocsf::fraction_4dp(*m, *t),
            pa_ocsf::fraction_4dp(*lm, *lt)
        );
    }
    for (f, k) in &failures {
        println!("  failed x{k}: {f}");
    }
    let doc = pa_canon::to_value(&cov.document(&n.mapping_profile_sha256())).expect("json");
    let mut unknown: Vec<(u64, String)> = doc["unknown_event_types"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    let k = u["count"].as_u64().unwrap_or(0);
                    (k, u["event_type"].as_str().unwrap_or("").to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    unknown.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    println!("most frequent unrouted event types:");
    for (k, et) in unknown.iter().take(12) {
        println!("  x{k} {et}");
    }
    assert_eq!(doc["events_total"], c.records.len() as u64);
    for st in ["windows-sysmon", "windows-security"] {
        let [_, _, lt, lm] = per.get(st).copied().unwrap_or_default();
        assert!(lt > 500, "{st}: only {lt} listed records");
        assert!(
            lm as f64 >= 0.98 * lt as f64,
            "{st}: only {lm}/{lt} records of the listed event ids are mapped"
        );
    }
    assert_eq!(cov.totals().0, c.records.len() as u64);
}

#[test]
fn normalizing_twice_is_byte_identical() {
    let c = corpus();
    let n = common::normalizer();
    let ctx = common::ctx();
    for (rec, first) in c.records.iter().zip(&c.outcomes).step_by(7) {
        let again = n.normalize(rec, &ctx);
        if let (Normalized::Mapped(a), Normalized::Mapped(b)) = (first, &again) {
            let ja = pa_canon::jcs_value(a).expect("jcs");
            let jb = pa_canon::jcs_value(b).expect("jcs");
            assert_eq!(ja, jb);
        } else {
            assert_eq!(first, &again);
        }
    }
    // Distinct records get distinct ids.
    let mut ids = BTreeMap::new();
    for (rec, out) in c.records.iter().zip(&c.outcomes) {
        if let Normalized::Mapped(ev) = out {
            let id = ev
                .pointer("/metadata/event_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let key = format!("{}#{}", rec.provenance.file, rec.provenance.ordinal);
            if let Some(prev) = ids.insert(id.clone(), key.clone()) {
                // Identical (host, channel, record id, event id) in two files is the same event.
                let same = c
                    .records
                    .iter()
                    .filter(|r| {
                        format!("{}#{}", r.provenance.file, r.provenance.ordinal) == prev
                            || format!("{}#{}", r.provenance.file, r.provenance.ordinal) == key
                    })
                    .count();
                assert!(same <= 2, "{id}: {prev} and {key}");
            }
        }
    }
}

/// Sigma logsource a Windows event is read under (what the rule authors would write).
fn logsource(rec: &SourceRecord, ev: &Value) -> Option<LogSource> {
    let id = event_id(rec)?;
    let cat = |c: &str| Some(LogSource::new(Some("windows"), Some(c), None));
    match rec.source_type.as_str() {
        "windows-sysmon" => match id {
            1 => cat("process_creation"),
            2 => cat("file_change"),
            3 => cat("network_connection"),
            5 => cat("process_termination"),
            6 => cat("driver_load"),
            7 => cat("image_load"),
            8 => cat("create_remote_thread"),
            9 => cat("raw_access_thread"),
            10 => cat("process_access"),
            11 => cat("file_event"),
            12 => match ev.pointer("/activity_id").and_then(Value::as_i64) {
                Some(4) => cat("registry_delete"),
                _ => cat("registry_add"),
            },
            13 => cat("registry_set"),
            14 => cat("registry_rename"),
            15 => cat("create_stream_hash"),
            17 | 18 => cat("pipe_created"),
            22 => cat("dns_query"),
            23 => cat("file_delete"),
            25 => cat("process_tampering"),
            26 => cat("file_delete_detected"),
            _ => None,
        },
        "windows-security" => Some(LogSource::new(Some("windows"), None, Some("security"))),
        "windows-system" => Some(LogSource::new(Some("windows"), None, Some("system"))),
        "windows-other" => {
            let channel = rec
                .fields
                .pointer("/System/Channel")
                .and_then(Value::as_str)?;
            let service = match channel {
                "Microsoft-Windows-Windows Defender/Operational" => "windefend",
                "Microsoft-Windows-TaskScheduler/Operational" => "taskscheduler",
                _ => return None,
            };
            Some(LogSource::new(Some("windows"), None, Some(service)))
        }
        "windows-powershell" => match id {
            4103 => cat("ps_module"),
            4104 => cat("ps_script"),
            400 => cat("ps_classic_start"),
            600 => cat("ps_classic_provider_start"),
            800 => cat("ps_classic_script"),
            _ => None,
        },
        _ => None,
    }
}

const PLACEHOLDERS: [&str; 6] = ["", "-", "S-1-0-0", "NULL", "(null)", "N/A"];

#[test]
fn sigma_fields_are_where_the_bridge_reads_them() {
    let c = corpus();
    let bridge = Bridge::load(common::repo_root().join("mappings/bridge")).expect("bridge loads");
    let mut checked = 0u64;
    let mut misses: BTreeMap<String, u64> = BTreeMap::new();
    let mut out_of_scope: BTreeMap<String, u64> = BTreeMap::new();
    for (rec, out) in c.records.iter().zip(&c.outcomes) {
        let Normalized::Mapped(ev) = out else {
            continue;
        };
        let Some(ls) = logsource(rec, ev) else {
            continue;
        };
        let Ok(routed) = bridge.routed(&ls) else {
            continue;
        };
        let eid = event_id(rec).unwrap_or(0);
        let st = rec.source_type.as_str();
        if !routed.route().in_scope(ev) {
            *out_of_scope
                .entry(format!(
                    "{st}:{eid} not in scope of route {}",
                    routed.route().route_id
                ))
                .or_default() += 1;
            continue;
        }
        let class = ev.get("class_uid").and_then(Value::as_u64).unwrap_or(0) as u32;
        let Some(data) = rec.fields.get("EventData").and_then(Value::as_object) else {
            continue;
        };
        for (source_field, v) in data {
            let Some(s) = v.as_str() else { continue };
            if PLACEHOLDERS.contains(&s.trim()) {
                continue;
            }
            // Sigma names a source field with spaces without them (`Threat Name`: `ThreatName`)
            let field: String = source_field.chars().filter(|c| *c != ' ').collect();
            let Ok(res) = routed.resolve_by_class(&field) else {
                continue;
            };
            let Some(path) = res.paths.get(&class) else {
                continue;
            };
            checked += 1;
            if pa_bridge::event::values_at(ev, path).is_empty() {
                *misses
                    .entry(format!("{st}:{eid} {field} -> {path}"))
                    .or_default() += 1;
            }
        }
    }
    let report = |m: &BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("  x{n} {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    println!("checked {checked} field values");
    assert!(checked > 50_000, "only {checked} field values checked");
    // 5156/5158 are Network Activity, a class the bridge's security route does not list
    // (reported to its owner); nothing else may fall outside its route.
    out_of_scope.retain(|k, _| {
        !(k.starts_with("windows-security:5156 ") || k.starts_with("windows-security:5158 "))
    });
    assert!(
        out_of_scope.is_empty(),
        "events outside their Sigma route:\n{}",
        report(&out_of_scope)
    );
    // Bridge aliases whose path does not exist in the class OCSF 1.7.0 gives the event (the
    // schema test keeps us from writing it): reported to the bridge owner, expected here.
    //   4688 Target*: Process Activity has no top-level user/session (we write process.user.*).
    //   5140/5145 IpAddress/IpPort: File System Activity has no src_endpoint (kept in unmapped).
    let known = |k: &str| {
        (k.starts_with("windows-security:4688 Target")
            && (k.ends_with("-> user.name")
                || k.ends_with("-> user.uid")
                || k.ends_with("-> user.domain")
                || k.ends_with("-> session.uid")))
            || ((k.starts_with("windows-security:5140 ")
                || k.starts_with("windows-security:5145 "))
                && (k.ends_with("-> src_endpoint.ip") || k.ends_with("-> src_endpoint.port")))
    };
    let unexpected: BTreeMap<String, u64> = misses
        .iter()
        .filter(|(k, _)| !known(k))
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    println!("known bridge/OCSF conflicts:\n{}", report(&misses));
    assert!(
        unexpected.is_empty(),
        "Sigma fields not found at the bridge path:\n{}",
        report(&unexpected)
    );
}

fn find<'a>(st: &str, id: i64) -> Vec<&'a Value> {
    let c = corpus();
    c.records
        .iter()
        .zip(&c.outcomes)
        .filter(|(r, _)| r.source_type.as_str() == st && event_id(r) == Some(id))
        .filter_map(|(_, o)| match o {
            Normalized::Mapped(v) => Some(v),
            _ => None,
        })
        .collect()
}

#[test]
fn system_and_powershell_values() {
    let svc = find("windows-system", 7045);
    let spool = svc
        .iter()
        .find(|e| common::at(e, "win_service.name") == Some(&Value::from("spoolfool")))
        .expect("the spoolfool 7045 event");
    assert_eq!(
        common::at(spool, "win_service.cmd_line"),
        Some(&Value::from("cmd.exe"))
    );
    assert_eq!(
        common::at(spool, "win_service.service_start_name"),
        Some(&Value::from("LocalSystem"))
    );
    assert_eq!(common::at(spool, "type_uid"), Some(&Value::from(20100401)));
    let cleared = find("windows-system", 104);
    assert!(!cleared.is_empty());
    assert!(
        cleared
            .iter()
            .all(|e| common::at(e, "class_uid") == Some(&Value::from(1008)))
    );
    assert!(cleared.iter().any(|e| common::at(e, "actor.user.name")
        == Some(&Value::from("a-jbrown"))
        && common::at(e, "log_name") == Some(&Value::from("System"))));
    let states = find("windows-system", 7036);
    assert!(
        states
            .iter()
            .any(|e| common::at(e, "activity_id") == Some(&Value::from(3)))
    );
    let blocks = find("windows-powershell", 4104);
    assert_eq!(blocks.len(), 4);
    for b in &blocks {
        assert_eq!(common::at(b, "class_uid"), Some(&Value::from(1009)));
        assert!(
            common::at(b, "script.script_content.value")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
        );
        assert!(common::at(b, "unmapped.MessageNumber").is_some());
    }
    let classic = find("windows-powershell", 800);
    assert_eq!(classic.len(), 4);
    assert!(
        classic
            .iter()
            .all(|e| common::at(e, "unmapped.Data").is_some())
    );
}
