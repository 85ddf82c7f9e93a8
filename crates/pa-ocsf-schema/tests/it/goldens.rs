//! The Purple Axiom reference golden OCSF events
//! (`../shared/data/purple-axiom-ref/fixtures/normalized/ocsf/1.7.0/**/*.json`, except
//! `coverage_assertions*`) validated against OCSF 1.7.0.
//!
//! None of the 12 goldens is valid OCSF 1.7.0 as written. Every violation found is listed
//! below, per fixture, with the evidence from the OCSF source that makes it a defect of the
//! fixture (not of the validator); the test fails on any violation not listed and on any
//! listed violation that no longer occurs. A second test repairs exactly these defects and
//! requires the repaired events to be clean.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pa_ocsf_schema::{ViolationCode as C, reference, reference_with_project_extensions};
use serde_json::{Value, json};

fn golden_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/purple-axiom-ref/fixtures/normalized/ocsf/1.7.0");
    assert!(
        dir.is_dir(),
        "reference data missing: {} (expected ../shared/data beside the repository)",
        dir.display()
    );
    dir
}

fn golden_files() -> Vec<PathBuf> {
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        let rd = std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in rd {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("coverage_assertions"))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&golden_dir(), &mut out);
    out.sort();
    out
}

fn read(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Purple Axiom envelope members (SPEC §6 "Envelope": `metadata.{event_id, run_id,
/// scenario_id, collector_version, normalizer_version, source_type, source_event_id,
/// identity_tier}`) are not attributes of the OCSF `metadata` object: objects/metadata.json
/// (plus its data_classification include) declares correlation_uid, debug, event_code,
/// extension(s), is_truncated, labels, log_*, logged_time, loggers, modified_time,
/// original_event_uid, original_time, processed_time, product, profiles, reporter,
/// sequence, source, tags, tenant_uid, transformation_info_list, transmit_time, type, uid,
/// untruncated_size, version — none of these eight. Settled by ADR-0004: the purple_axiom
/// extension defines them (see `repaired_goldens_with_the_envelope_declared`).
const ENVELOPE_SYSMON_OSQUERY: &[&str] = &[
    "/metadata/collector_version",
    "/metadata/event_id",
    "/metadata/normalizer_version",
    "/metadata/run_id",
    "/metadata/scenario_id",
    "/metadata/source_event_id",
    "/metadata/source_type",
];
/// The windows_security goldens carry `identity_tier` instead of run/scenario/versions.
const ENVELOPE_SECURITY: &[&str] = &[
    "/metadata/event_id",
    "/metadata/identity_tier",
    "/metadata/source_event_id",
    "/metadata/source_type",
];

/// Required by OCSF but absent in every golden: `category_uid` and `severity_id`
/// (events/base_event.json, `"requirement": "required"`), `metadata.version`
/// (objects/metadata.json, required) and `device.type_id` (objects/device.json, required).
/// The fixtures' READMEs list only the Purple Axiom envelope minimum.
const REQUIRED_EVERYWHERE: &[&str] = &[
    "/category_uid",
    "/device/type_id",
    "/metadata/version",
    "/severity_id",
];

/// Every `file` object in the goldens has only `path` (and `hashes`), but objects/file.json
/// makes `name` and `type_id` required.
fn file_required(prefix: &str) -> Vec<String> {
    vec![format!("{prefix}/name"), format!("{prefix}/type_id")]
}

/// The exact expected violations of one golden (relative path → (pointer, code)).
fn expected(rel: &str) -> Option<BTreeSet<(String, C)>> {
    let mut unknown: Vec<String> = Vec::new();
    let mut missing: Vec<String> = REQUIRED_EVERYWHERE.iter().map(|s| s.to_string()).collect();
    let mut wrong_type: Vec<String> = Vec::new();
    let mut constraint: Vec<String> = Vec::new();
    let mut undeclared: Vec<String> = Vec::new();
    let (family, name) = rel.split_once('/')?;
    match family {
        "windows_sysmon" | "osquery" => {
            unknown.extend(ENVELOPE_SYSMON_OSQUERY.iter().map(|s| s.to_string()))
        }
        // `contract_version` ("ocsf_event_envelope@v0.1") is a Purple Axiom contract
        // marker, not an attribute of any OCSF class.
        "windows_security" => {
            unknown.extend(ENVELOPE_SECURITY.iter().map(|s| s.to_string()));
            unknown.push("/contract_version".into());
        }
        _ => return None,
    }
    match (family, name) {
        // Sysmon vendor fields under a top-level `extensions` member: OCSF has no top-level
        // `extensions` attribute (only `metadata.extensions`, an array of `extension`
        // objects {name, uid, version}); free-form source data belongs in `unmapped`.
        ("windows_sysmon", "eid_0001_process_create.json") => {
            unknown.push("/extensions".into());
            missing.extend(file_required("/actor/process/file"));
            missing.extend(file_required("/process/file"));
        }
        // Network classes do not take actor/device out of the host profile
        // (events/network/network.json overrides neither; base_event.json includes
        // profiles/host.json), so using them requires "host" in metadata.profiles, which
        // no golden declares.
        ("windows_sysmon", "eid_0003_network_connection.json") => {
            unknown.push("/extensions".into());
            missing.extend(file_required("/actor/process/file"));
            undeclared.extend(["/actor".to_string(), "/device".to_string()]);
        }
        // events/network/network.json (inherited by dns_activity): constraints
        // at_least_one [dst_endpoint, src_endpoint]; the DNS query golden has neither.
        ("windows_sysmon", "eid_0022_dns_query.json") => {
            unknown.push("/extensions".into());
            missing.extend(file_required("/actor/process/file"));
            constraint.push(String::new());
            undeclared.extend(["/actor".to_string(), "/device".to_string()]);
        }
        ("windows_sysmon", "eid_0005_process_terminate.json") => {
            missing.extend(file_required("/process/file"));
        }
        ("windows_sysmon", "eid_0011_file_create.json") => {
            missing.extend(file_required("/actor/process/file"));
            missing.extend(file_required("/file"));
        }
        // SPEC §15: in the osquery goldens `time` is a string ("2026-01-11T00:00:00Z");
        // base_event `time` is timestamp_t, i.e. long_t epoch milliseconds.
        ("osquery", "file_events_added.json") => {
            wrong_type.push("/time".into());
            // here `file` has name, parent_folder and path, but not the required type_id
            missing.push("/file/type_id".into());
        }
        ("osquery", "process_events_added.json") => {
            wrong_type.push("/time".into());
            missing.extend(file_required("/actor/process/file"));
            // events/system/process_activity.json: `process` (the launched process) is
            // required; the fixture maps the new process to actor.process only.
            missing.push("/process".into());
        }
        ("osquery", "socket_events_added.json") => {
            wrong_type.push("/time".into());
            missing.extend(file_required("/actor/process/file"));
            undeclared.extend(["/actor".to_string(), "/device".to_string()]);
        }
        // 1008 Event Log Activity (events/system/event_log_activity.json) has log_name,
        // log_provider, log_type(_id), file, ... but no `event_log` attribute.
        // Its constraints (at_least_one of log_file, log_name, log_provider, log_type,
        // log_type_id) then fail: the log name is only in metadata.log_name / event_log.name.
        ("windows_security", "1102_log_cleared.json") => {
            unknown.push("/event_log".into());
            constraint.push(String::new());
        }
        // 3002 Authentication (events/iam/authentication.json): `logon_type_id` is a
        // top-level attribute and there is no `authentication` attribute; `user` (the
        // subject of the authentication) is required and absent (only actor.user is set);
        // its constraints (at_least_one of service, dst_endpoint) fail: only src_endpoint.
        // events/iam/iam.json takes actor out of the host profile but not device, so
        // device needs "host" in metadata.profiles.
        ("windows_security", "4624_success.json") => {
            unknown.push("/authentication".into());
            missing.push("/user".into());
            constraint.push(String::new());
            undeclared.push("/device".into());
        }
        // 4625 additionally puts status_code / status_detail / status_message under
        // metadata: status_code and status_detail are base_event (top-level) attributes,
        // status_message is not an OCSF attribute at all (dictionary.json has none).
        ("windows_security", "4625_failure.json") => {
            unknown.push("/authentication".into());
            missing.push("/user".into());
            constraint.push(String::new());
            undeclared.push("/device".into());
            for m in ["status_code", "status_detail", "status_message"] {
                unknown.push(format!("/metadata/{m}"));
            }
        }
        ("windows_security", "4688_process_create.json") => {
            missing.extend(file_required("/actor/process/file"));
            missing.extend(file_required("/process/file"));
        }
        _ => return None,
    }
    let mut out = BTreeSet::new();
    out.extend(unknown.into_iter().map(|p| (p, C::UnknownAttribute)));
    out.extend(missing.into_iter().map(|p| (p, C::MissingRequired)));
    out.extend(wrong_type.into_iter().map(|p| (p, C::WrongType)));
    out.extend(constraint.into_iter().map(|p| (p, C::ConstraintFailed)));
    out.extend(undeclared.into_iter().map(|p| (p, C::UndeclaredProfile)));
    Some(out)
}

#[test]
fn every_golden_has_exactly_its_documented_defects() {
    let dir = golden_dir();
    let files = golden_files();
    assert_eq!(files.len(), 12, "golden set changed: {files:#?}");
    let schema = reference();
    let mut summary = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&dir)
            .expect("under dir")
            .to_string_lossy()
            .replace('\\', "/");
        let event = read(f);
        let got = schema.validate(&event);
        let got_set: BTreeSet<(String, C)> =
            got.iter().map(|v| (v.pointer.clone(), v.code)).collect();
        let want = expected(&rel).unwrap_or_else(|| panic!("{rel}: golden not accounted for"));
        let extra: Vec<_> = got
            .iter()
            .filter(|v| !want.contains(&(v.pointer.clone(), v.code)))
            .collect();
        let gone: Vec<_> = want.difference(&got_set).collect();
        assert!(
            extra.is_empty() && gone.is_empty(),
            "{rel}: unexplained violations {extra:#?}; documented but not found {gone:#?}"
        );
        let structural = got.iter().filter(|v| v.code != C::MissingRequired).count();
        summary.push(format!(
            "{rel}: {} violations ({} missing_required, {structural} other)",
            got.len(),
            got.len() - structural
        ));
    }
    eprintln!("{}", summary.join("\n"));
}

/// Apply exactly the repairs the defects above call for; the result must be clean, which
/// shows that everything else in the goldens (types, enum values, nesting, formats) is valid.
fn repair(rel: &str, e: &mut Value) {
    repair_keeping(rel, e, false);
}

/// [`repair`]; with `keep_envelope` the Purple Axiom envelope members stay under `metadata`
/// (where the purple_axiom extension defines them) instead of being removed.
fn repair_keeping(rel: &str, e: &mut Value, keep_envelope: bool) {
    let class = e["class_uid"].as_u64().expect("class_uid") as u32;
    let c = reference().class(class).expect("known class");
    let o = e.as_object_mut().expect("object");
    o.insert("category_uid".into(), json!(c.category_uid));
    o.insert("severity_id".into(), json!(1));
    o.remove("contract_version");
    if let Some(x) = o.remove("extensions") {
        o.insert("unmapped".into(), json!({ "extensions": x }));
    }
    if let Some(a) = o.remove("authentication") {
        o.insert("logon_type_id".into(), a["logon_type_id"].clone());
        let user = o["actor"]["user"].clone();
        o.insert("user".into(), user);
    }
    if let Some(log) = o.remove("event_log") {
        o.insert("log_name".into(), log["name"].clone());
    }
    let host = json!({"hostname": o["device"]["hostname"].clone()});
    if class == 3002 {
        o.insert("dst_endpoint".into(), host.clone());
    }
    if class == 4003 {
        o.insert("src_endpoint".into(), host);
    }
    if let Some(t) = o.get("time").and_then(Value::as_str) {
        // 2026-01-11T00:00:SSZ → epoch ms (the osquery goldens are all on that minute)
        let secs: i64 = t[17..19].parse().expect("seconds");
        o.insert("time".into(), json!(1_768_089_600_000_i64 + secs * 1000));
    }
    if rel.ends_with("process_events_added.json") {
        let p = o["actor"]["process"].clone();
        o.insert("process".into(), p);
    }
    let md = o["metadata"].as_object_mut().expect("metadata");
    let envelope: &[&str] = if keep_envelope {
        &[]
    } else {
        &[
            "collector_version",
            "event_id",
            "normalizer_version",
            "run_id",
            "scenario_id",
            "source_event_id",
            "source_type",
            "identity_tier",
        ]
    };
    for k in envelope {
        md.remove(*k);
    }
    for k in ["status_code", "status_detail", "status_message"] {
        md.remove(k);
    }
    md.insert("version".into(), json!("1.7.0"));
    md.insert("profiles".into(), json!(["host"]));
    o["device"]["type_id"] = json!(0);
    for ptr in ["/actor/process/file", "/process/file", "/file"] {
        if let Some(Value::Object(f)) = e.pointer_mut(ptr) {
            let path = f["path"].as_str().expect("path").to_string();
            let name = path.rsplit(['/', '\\']).next().expect("name").to_string();
            f.insert("name".into(), json!(name));
            f.insert("type_id".into(), json!(1));
        }
    }
}

#[test]
fn repaired_goldens_are_clean() {
    let dir = golden_dir();
    for f in golden_files() {
        let rel = f
            .strip_prefix(&dir)
            .expect("under dir")
            .to_string_lossy()
            .replace('\\', "/");
        let mut e = read(&f);
        repair(&rel, &mut e);
        let v = reference().validate(&e);
        assert!(v.is_empty(), "{rel} after repair: {v:#?}");
    }
}

/// The goldens' envelope members, kept in place and declared as the purple_axiom extension:
/// their values have the extension's types (`source_event_id` strings, `identity_tier` 1);
/// what remains is exactly the required envelope members each fixture family lacks.
#[test]
fn repaired_goldens_with_the_envelope_declared() {
    let dir = golden_dir();
    let schema = reference_with_project_extensions();
    let decl = schema
        .extension("purple_axiom")
        .expect("purple_axiom")
        .declaration();
    for f in golden_files() {
        let rel = f
            .strip_prefix(&dir)
            .expect("under dir")
            .to_string_lossy()
            .replace('\\', "/");
        let mut e = read(&f);
        repair_keeping(&rel, &mut e, true);
        e["metadata"]["extensions"] = json!([decl.clone()]);
        let got: Vec<(String, C)> = schema
            .validate(&e)
            .into_iter()
            .map(|v| (v.pointer, v.code))
            .collect();
        let absent: &[&str] = if rel.starts_with("windows_security/") {
            &["normalizer_version", "run_id", "scenario_id"]
        } else {
            &["identity_tier"]
        };
        let want: Vec<(String, C)> = absent
            .iter()
            .map(|m| (format!("/metadata/{m}"), C::MissingRequired))
            .collect();
        assert_eq!(got, want, "{rel}");
        // and without the declaration every envelope member is undeclared
        e["metadata"]
            .as_object_mut()
            .expect("metadata")
            .remove("extensions");
        let v = schema.validate(&e);
        assert!(
            !v.is_empty() && v.iter().all(|x| x.code == C::UndeclaredExtension),
            "{rel}: {v:#?}"
        );
    }
}

#[test]
fn goldens_have_no_advisory_warnings() {
    // No golden uses a deprecated attribute or a mismatching enum caption.
    for f in golden_files() {
        let w = reference().warnings(&read(&f));
        assert!(w.is_empty(), "{}: {w:#?}", f.display());
    }
}
