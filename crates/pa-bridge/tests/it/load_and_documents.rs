//! The shipped data loads; the documents it produces are canonical, sealed and schema-valid;
//! malformed data is rejected with file and line.

use crate::common;

use std::fs;

use pa_bridge::documents::verify_digest;
use pa_bridge::{Bridge, CoverageAccumulator, FileError, RuleOutcome};

#[test]
fn shipped_data_loads_and_documents_validate() {
    let b = common::bridge();
    assert!(b.routes().len() >= 30, "routes: {}", b.routes().len());
    let rt = b.router_table_document().expect("router table");
    common::assert_valid("router_table.schema.json", &rt.value);
    assert!(verify_digest("router_table", &rt.value, "router_table_sha256").expect("jcs"));
    assert_eq!(rt.value["router_table_sha256"], rt.sha256.as_str());
    // canonical bytes: no trailing newline, round-trip equal
    assert_ne!(rt.bytes.last(), Some(&b'\n'));
    let back: serde_json::Value = serde_json::from_slice(&rt.bytes).expect("json");
    assert_eq!(back, rt.value);

    let mp = b.mapping_pack_snapshot_document().expect("snapshot");
    common::assert_valid("mapping_pack_snapshot.schema.json", &mp.value);
    assert!(verify_digest("mapping_pack_snapshot", &mp.value, "mapping_pack_sha256").expect("jcs"));
    assert_eq!(
        mp.value["router_table_ref"]["router_table_sha256"],
        rt.sha256.as_str()
    );
    assert_eq!(
        mp.value["field_aliases"]["windows.process_creation"]["Image"],
        "process.file.path"
    );

    // deterministic: a second load gives the same bytes
    let b2 = common::bridge();
    assert_eq!(b2.router_table_document().expect("rt").bytes, rt.bytes);
    assert_eq!(
        b2.mapping_pack_snapshot_document().expect("mp").bytes,
        mp.bytes
    );

    // a changed policy changes the pack digest but not the router digest
    let off = common::bridge().with_fallback_enabled(false);
    assert_ne!(
        off.mapping_pack_snapshot_document().expect("mp").sha256,
        mp.sha256
    );
    assert_eq!(off.router_table_document().expect("rt").sha256, rt.sha256);

    // tampering is detected
    let mut t = rt.value.clone();
    t["router_table_version"] = "9.9.9".into();
    assert!(!verify_digest("router_table", &t, "router_table_sha256").expect("jcs"));
}

#[test]
fn coverage_document_validates() {
    let mut acc = CoverageAccumulator::new();
    acc.add(&RuleOutcome::executable(true, true));
    acc.add(&RuleOutcome::non_executable(false, "unroutable_logsource"));
    acc.add(&RuleOutcome::non_executable(true, "unmapped_field").with_unmapped_fields(["Foo"]));
    let doc = serde_json::to_value(acc.finish(20)).expect("json");
    common::assert_valid("bridge_coverage.schema.json", &doc);
    assert_eq!(doc["non_executable_rules"], 2);
    let mut bad = doc.clone();
    bad["surprise"] = 1.into();
    let s = common::schema("bridge_coverage.schema.json");
    assert!(!jsonschema::is_valid(&s, &bad));
}

/// Copy the shipped data to a temp dir, apply `edit` to one file, and load.
fn load_edited(file: &str, edit: impl FnOnce(String) -> String) -> Result<Bridge, FileError> {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = common::bridge_dir();
    fs::create_dir_all(tmp.path().join("aliases")).expect("mkdir");
    for rel in ["pack.yaml", "router.yaml"] {
        fs::copy(src.join(rel), tmp.path().join(rel)).expect("copy");
    }
    for e in fs::read_dir(src.join("aliases")).expect("aliases") {
        let p = e.expect("entry").path();
        fs::copy(
            &p,
            tmp.path()
                .join("aliases")
                .join(p.file_name().expect("name")),
        )
        .expect("copy");
    }
    let target = tmp.path().join(file);
    let text = fs::read_to_string(&target).expect("read");
    fs::write(&target, edit(text)).expect("write");
    Bridge::load(tmp.path())
}

fn expect_err(r: Result<Bridge, FileError>, file: &str, needle: &str) -> FileError {
    let e = r
        .err()
        .unwrap_or_else(|| panic!("expected an error mentioning {needle}"));
    let msg = e.to_string();
    assert!(msg.contains(file), "{msg} should name {file}");
    assert!(msg.contains(needle), "{msg} should mention {needle}");
    e
}

fn line_of(e: &FileError) -> u64 {
    e.line
}

#[test]
fn unknown_key_is_rejected_with_line() {
    let e = expect_err(
        load_edited("router.yaml", |t| {
            t.replacen(
                "    alias_set: windows.process_creation\n",
                "    alias_set: windows.process_creation\n    colour: blue\n",
                1,
            )
        }),
        "router.yaml",
        "colour",
    );
    assert!(line_of(&e) > 10, "{e}");
}

#[test]
fn duplicate_route_and_dangling_alias_set_are_rejected() {
    let e = expect_err(
        load_edited("router.yaml", |t| {
            t.replacen(
                "route_id: windows.process_termination",
                "route_id: windows.process_creation",
                1,
            )
        }),
        "router.yaml",
        "duplicate route_id",
    );
    assert!(line_of(&e) > 0);
    expect_err(
        load_edited("router.yaml", |t| {
            t.replacen("alias_set: windows.dns_query", "alias_set: windows.nope", 1)
        }),
        "router.yaml",
        "unknown alias set",
    );
    expect_err(
        load_edited("router.yaml", |t| {
            t.replacen(
                "{product: windows, category: process_termination}",
                "{product: windows, category: process_creation}",
                1,
            )
        }),
        "router.yaml",
        "always tie",
    );
    expect_err(
        load_edited("router.yaml", |t| {
            t.replacen("ocsf_version: \"1.7.0\"", "ocsf_version: \"1.6.0\"", 1)
        }),
        "router.yaml",
        "bridge_mapping_pack_invalid",
    );
}

#[test]
fn bad_alias_files_are_rejected() {
    expect_err(
        load_edited("aliases/windows.dns_query.yaml", |t| {
            t.replace("QueryName: query.hostname", "QueryName: query..hostname")
        }),
        "windows.dns_query.yaml",
        "not a dotted path",
    );
    expect_err(
        load_edited("aliases/windows.dns_query.yaml", |t| {
            t.replace(
                "extends: [windows.sysmon_actor]",
                "extends: [windows.missing]",
            )
        }),
        "windows.dns_query.yaml",
        "unknown set",
    );
    expect_err(
        load_edited("aliases/windows.eventlog_base.yaml", |t| {
            format!("{t}extends: [windows.sysmon_actor]\n")
        }),
        "aliases/windows.",
        "cycle",
    );
    let e = expect_err(
        load_edited("aliases/windows.dns_query.yaml", |t| {
            t.replace(
                "QueryName: query.hostname",
                "QueryName: query.hostname\n  QueryName: dst_endpoint.hostname",
            )
        }),
        "windows.dns_query.yaml",
        "",
    );
    assert!(line_of(&e) > 0, "duplicate key must carry a line: {e}");
    expect_err(
        load_edited("aliases/windows.dns_query.yaml", |t| {
            t.replace("mode: listed", "mode: sometimes")
        }),
        "windows.dns_query.yaml",
        "",
    );
}
