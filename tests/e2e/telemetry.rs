//! End to end: the real `pa-telemetry` stage over recorded sources, good and bad.

use pa_e2e::{ReplayCase, read_json, shared_data};
use serde_json::Value;

const RUN_ID: &str = "5e1e0000-0000-4000-8000-00000000beef";

fn case(sources_yaml: &str) -> ReplayCase {
    ReplayCase::new(
        "telemetry-case",
        RUN_ID,
        &["lab_provider", "telemetry"],
        &format!("telemetry:\n  sources:\n{sources_yaml}"),
    )
}

fn validation(c: &ReplayCase) -> Value {
    read_json(&c.run_dir().join("logs/telemetry_validation.json"))
}

fn evtx(rel: &str) -> String {
    shared_data()
        .join("evtx/EVTX-ATTACK-SAMPLES")
        .join(rel)
        .display()
        .to_string()
}

fn source(id: &str, format: &str, asset: &str, path: &str, required: bool) -> String {
    format!(
        "    - source_id: {id}\n      format: {format}\n      asset_id: {asset}\n      required: {required}\n      paths: [{}]\n",
        serde_json::to_string(path).unwrap()
    )
}

#[test]
fn a_missing_required_source_fails_closed_naming_the_path_and_publishes_nothing() {
    let c = case(&source("gone", "evtx", "host", "no/such/file.evtx", true));
    let err = c.orchestrate_expect(20);
    assert!(err.contains("no/such/file.evtx"), "{err}");
    let o = c.outcome("telemetry");
    assert_eq!(o["status"], "failed");
    assert_eq!(o["reason_code"], "required_source_missing");
    assert!(!c.run_dir().join("raw_parquet").exists());
    assert!(!c.run_dir().join("logs/telemetry_validation.json").exists());
    // The earlier stage's output is intact.
    assert!(
        c.run_dir()
            .join("logs/lab_inventory_snapshot.json")
            .is_file()
    );
}

#[test]
fn an_unreadable_optional_file_is_recorded_and_the_required_source_still_lands() {
    let sources = source(
        "uac",
        "evtx",
        "host",
        &evtx("Defense Evasion/DE_UAC_Disabled_Sysmon_12_13.evtx"),
        true,
    ) + &source("junk", "evtx", "host", "garbage.evtx", false);
    let c2 = case(&sources);
    std::fs::write(
        c2.path().join("garbage.evtx"),
        b"this is not an evtx file at all",
    )
    .unwrap();
    c2.orchestrate_expect(0);
    let v = validation(&c2);
    let junk = &v["sources"][1];
    assert_eq!(junk["source_id"], "junk");
    assert_eq!(junk["records_kept"], 0);
    assert_eq!(junk["status"], "empty");
    let e = junk["errors"][0].as_str().unwrap();
    assert!(e.contains("garbage.evtx"), "{e}");
    assert_eq!(v["sources"][0]["records_kept"], 3);
    assert!(
        c2.run_dir()
            .join("raw_parquet/uac/part-0000.parquet")
            .is_file()
    );
    // An empty dataset still has its schema, and no part file.
    assert!(c2.run_dir().join("raw_parquet/junk/_schema.json").is_file());
    assert!(
        !c2.run_dir()
            .join("raw_parquet/junk/part-0000.parquet")
            .exists()
    );
}

#[test]
fn a_truncated_evtx_is_read_as_far_as_it_goes_and_every_record_is_accounted() {
    // A multi-chunk recording cut at two thirds: the whole chunks are read, the cut chunk's
    // records are dropped with a reason.
    let full = std::fs::read(evtx(
        "AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
    ))
    .unwrap();
    let c = case(&source("cut", "evtx", "host", "cut.evtx", true));
    std::fs::write(c.path().join("cut.evtx"), &full[..full.len() * 2 / 3]).unwrap();
    c.orchestrate_expect(0);
    let v = validation(&c);
    let s = &v["sources"][0];
    let (r, k, d) = (
        s["records_read"].as_u64().unwrap(),
        s["records_kept"].as_u64().unwrap(),
        s["records_dropped"].as_u64().unwrap(),
    );
    assert_eq!(r, k + d, "{s}");
    assert!(k > 0, "{s}");
}

#[test]
fn a_required_source_with_nothing_readable_fails_with_the_drop_reasons() {
    // A single-chunk recording cut short: no record survives.
    let full = std::fs::read(evtx(
        "Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx",
    ))
    .unwrap();
    let c = case(&source("cut", "evtx", "host", "cut.evtx", true));
    std::fs::write(c.path().join("cut.evtx"), &full[..full.len() * 2 / 3]).unwrap();
    let err = c.orchestrate_expect(20);
    assert!(err.contains("no record read"), "{err}");
    assert!(err.contains("evtx_incomplete_chunk"), "{err}");
    assert_eq!(
        c.outcome("telemetry")["reason_code"],
        "required_source_missing"
    );
    assert!(!c.run_dir().join("raw_parquet").exists());
}

#[test]
fn linux_audit_log_becomes_aggregated_raw_events() {
    let log = shared_data().join("linux-audit-lab/audit/quirks_sample.log");
    let c = case(&source(
        "audit",
        "auditd",
        "lin-a",
        &log.display().to_string(),
        true,
    ));
    c.orchestrate_expect(0);
    let v = validation(&c);
    let s = &v["sources"][0];
    assert_eq!(s["source_types"]["linux-auditd"], s["records_kept"]);
    let rows: Vec<_> = pa_store::raw::RawReader::open(&c.run_dir().join("raw_parquet/audit"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len() as u64, s["records_kept"].as_u64().unwrap());
    assert!(rows.iter().all(|r| r.raw.contains("msg=audit(")));
    // Some event carries decoded execve arguments.
    assert!(
        rows.iter()
            .any(|r| r.fields_json.contains("\"execve_argv\"")),
        "no execve event"
    );
}

#[test]
fn an_unknown_format_is_source_not_implemented() {
    let c = case(&source("x", "pcap", "host", "whatever.pcap", true));
    let err = c.orchestrate_expect(20);
    assert!(err.contains("pcap"), "{err}");
    let o = c.outcome("telemetry");
    if o.is_null() {
        // The range decoder rejected the format up front.
        assert!(err.contains("format"), "{err}");
    } else {
        assert_eq!(o["reason_code"], "source_not_implemented");
    }
}

#[test]
fn telemetry_output_is_deterministic_across_runs() {
    let sources = source(
        "sched",
        "evtx",
        "host",
        &evtx("Execution/temp_scheduled_task_4698_4699.evtx"),
        true,
    );
    let a = case(&sources);
    let b = case(&sources);
    a.orchestrate_expect(0);
    b.orchestrate_expect(0);
    for rel in [
        "logs/telemetry_validation.json",
        "raw_parquet/sched/part-0000.parquet",
        "raw_parquet/sched/_schema.json",
    ] {
        let x = std::fs::read(a.run_dir().join(rel)).unwrap();
        let y = std::fs::read(b.run_dir().join(rel)).unwrap();
        assert!(x == y, "{rel} differs between identical runs");
    }
}

/// Bundle mode over all of EVTX-ATTACK-SAMPLES: every record the telemetry stage kept is in the
/// normalized store — mapped to a class or a fallback Base Event, none unrouted, none failed
/// (ADR-0013) — and the coverage document says which.
#[test]
fn every_record_telemetry_keeps_reaches_the_normalized_store() {
    let dir = shared_data().join("evtx/EVTX-ATTACK-SAMPLES");
    let c = ReplayCase::new(
        "whole-corpus",
        RUN_ID,
        &["lab_provider", "telemetry", "normalization"],
        &format!(
            "telemetry:\n  sources:\n{}",
            source("attack", "evtx", "host", &dir.display().to_string(), true)
        ),
    );
    let out = c.orchestrate();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept: u64 = validation(&c)["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["records_kept"].as_u64().expect("records_kept"))
        .sum();
    assert!(kept > 7000, "only {kept} records kept");
    let cov = pa_e2e::read_json(&c.run_dir().join("normalized/mapping_coverage.json"));
    let n = |k: &str| cov[k].as_u64().unwrap_or_else(|| panic!("{k}: {cov}"));
    assert_eq!(n("events_total"), kept);
    assert_eq!(
        (n("events_unmapped"), n("events_failed")),
        (0, 0),
        "{}",
        cov["unknown_event_types"]
    );
    assert_eq!(n("events_mapped") + n("events_fallback"), kept);
    assert!(n("events_fallback") > 3000, "{}", n("events_fallback"));
    // The store's documented drops: exact duplicates, and identity conflicts (the corpus
    // holds a few records of the same host, channel and record id with different content in
    // different files; one is kept — the smallest canonical form — and the rest counted).
    let store = &cov["store"];
    let s = |k: &str| store[k].as_u64().unwrap_or_else(|| panic!("{k}: {store}"));
    assert_eq!(
        s("rows") + s("duplicates_dropped") + s("conflicts"),
        kept,
        "{store}"
    );
    assert!(s("conflicts") < 20, "{store}");
    // 4673 has no specific class; 4662 has one since ADR-0018 (Entity Management)
    let fallback_type = |t: &str| {
        cov["fallback_event_types"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["event_type"] == t))
    };
    assert!(
        fallback_type("windows-security:4673") && !fallback_type("windows-security:4662"),
        "{}",
        cov["fallback_event_types"]
    );
}
