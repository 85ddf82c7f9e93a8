//! The Purple Axiom OCSF extension (`mappings/ocsf-extension/purple_axiom`): it loads, the
//! envelope in its OCSF shape validates with it and not without it, its attributes are
//! type-checked, events must declare it, and extension directories are loaded with the same
//! rules (and located errors) as the built-in ones.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pa_ocsf_schema::{
    OcsfSchema, PROJECT_EXTENSION_NAME, SchemaError, ViolationCode as C, project_extension_dir,
    reference, reference_dir, reference_with_project_extensions,
};
use serde_json::{Value, json};

/// The Purple Axiom members under `metadata` (all but `extensions`, which is OCSF's own).
const PA_POINTERS: [&str; 12] = [
    "/metadata/collector_version",
    "/metadata/event_id",
    "/metadata/identity_tier",
    "/metadata/normalizer_version",
    "/metadata/raw_ref",
    "/metadata/raw_refs",
    "/metadata/run_id",
    "/metadata/scenario_id",
    "/metadata/source_event_id",
    "/metadata/source_type",
    "/metadata/synthetic_correlation_marker",
    "/metadata/synthetic_correlation_marker_digest",
];

/// A Process Activity event carrying the full Purple Axiom envelope in its OCSF shape.
fn envelope_event() -> Value {
    json!({
        "class_uid": 1007,
        "category_uid": 1,
        "activity_id": 1,
        "type_uid": 100701,
        "severity_id": 1,
        "time": 1767225601000_i64,
        "metadata": {
            "version": "1.7.0",
            "product": {"name": "Sysmon", "vendor_name": "Microsoft"},
            "uid": "pa:eid:v1:0ecaf2a7ed583ab2338e32b14eecb9d0",
            "event_id": "pa:eid:v1:0ecaf2a7ed583ab2338e32b14eecb9d0",
            "extensions": [{"name": "purple_axiom", "uid": "999", "version": "0.1.0"}],
            "run_id": "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d",
            "scenario_id": "replay-evtx",
            "source_type": "windows-sysmon",
            "source_event_id": "4242",
            "identity_tier": 1,
            "normalizer_version": "0.1.0",
            "collector_version": "otelcol-contrib 0.143.1",
            "raw_ref": {
                "kind": "dataset_row_v1",
                "path": "raw_parquet/windows_eventlog/",
                "row_locator": {"record_id": 4242, "channel": "Microsoft-Windows-Sysmon/Operational"},
            },
            "raw_refs": [
                {"kind": "file_cursor_v1", "path": "raw/audit.log", "cursor": "li:17"},
                {"kind": "file_cursor_v1", "path": "raw/audit.log", "cursor": "bo:2048"},
            ],
            "synthetic_correlation_marker": "pa:synth:v1:6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d:a1:execute",
            "synthetic_correlation_marker_digest": "kZbO3xq6Y2r0n1m5c8d4eA",
        },
        "device": {"hostname": "win10-lab", "type_id": 2},
        "actor": {"process": {"pid": 1111}},
        "process": {"pid": 4242, "cmd_line": "cmd.exe /c whoami"},
    })
}

#[track_caller]
fn expect(event: &Value, want: &[(&str, C)]) {
    common::expect_with(reference_with_project_extensions(), event, want);
}

fn with(pointer: &str, v: Value) -> Value {
    let mut e = envelope_event();
    common::set(&mut e, pointer, v);
    e
}

#[test]
fn the_extension_loads() {
    let s = reference_with_project_extensions();
    let ext = s
        .extension(PROJECT_EXTENSION_NAME)
        .expect("purple_axiom loaded");
    assert_eq!(ext.uid, 999, "OCSF's development extension uid");
    assert_eq!(ext.version.as_deref(), Some("0.1.0"));
    assert_eq!(
        ext.declaration(),
        json!({"name": "purple_axiom", "uid": "999", "version": "0.1.0"})
    );
    // the built-in extensions come first, then the project's
    let names: Vec<&str> = s.extensions().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["linux", "win", "purple_axiom"]);
    assert!(reference().extension(PROJECT_EXTENSION_NAME).is_none());

    // metadata is patched: exactly the envelope attributes are added, tagged with the
    // extension; the core ones stay core
    let md = s.object("metadata").expect("metadata");
    let added: Vec<&str> = md
        .attributes
        .values()
        .filter(|a| a.extension.as_deref() == Some("purple_axiom"))
        .map(|a| a.name.as_str())
        .collect();
    let want: Vec<&str> = PA_POINTERS
        .iter()
        .map(|p| p.trim_start_matches("/metadata/"))
        .collect();
    assert_eq!(added, want);
    assert_eq!(md.attributes["uid"].extension, None);
    assert_eq!(md.attributes["extensions"].extension, None);
    let core_md = reference().object("metadata").expect("metadata");
    assert_eq!(md.attributes.len(), core_md.attributes.len() + want.len());
    assert_eq!(md.attributes["identity_tier"].type_name, "integer_t");
    assert_eq!(
        md.attributes["identity_tier"]
            .enum_values
            .as_ref()
            .map(|e| e.keys().copied().collect::<Vec<_>>()),
        Some(vec![1, 2, 3])
    );
    assert_eq!(md.attributes["raw_ref"].object_type(), Some("pa_raw_ref"));
    assert!(md.attributes["raw_refs"].is_array);
    // every class sees the patch through its metadata object
    assert!(s.has_path(1007, "metadata.raw_ref.row_locator"));
    assert!(s.has_path(201002, "metadata.run_id"));
    assert!(!reference().has_path(1007, "metadata.raw_ref"));

    let r = s.object("pa_raw_ref").expect("pa_raw_ref");
    assert_eq!(r.extension.as_deref(), Some("purple_axiom"));
    let attrs: Vec<&str> = r.attributes.keys().map(String::as_str).collect();
    assert_eq!(attrs, ["cursor", "kind", "path", "row_locator"]);
    let kinds: Vec<&str> = r.attributes["kind"]
        .string_enum_values
        .as_ref()
        .expect("kind is an enumeration")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(kinds, ["dataset_row_v1", "file_cursor_v1"]);
    assert_eq!(r.attributes["row_locator"].type_name, "json_t");
    assert_eq!(r.constraints.just_one, ["cursor", "row_locator"]);
}

#[test]
fn every_added_attribute_has_its_own_dictionary_entry() {
    let dir = project_extension_dir();
    let file = dir.join("dictionary.json");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", file.display()));
    let dict: Value = serde_json::from_str(&text).expect("dictionary is JSON");
    let s = reference_with_project_extensions();
    let mut names: Vec<String> = s
        .object("metadata")
        .expect("metadata")
        .attributes
        .values()
        .filter(|a| a.extension.is_some())
        .map(|a| a.name.clone())
        .collect();
    names.extend(["kind", "cursor", "row_locator"].map(String::from));
    for n in names {
        let e = &dict["attributes"][&n];
        for member in ["caption", "description", "type"] {
            assert!(
                e[member].as_str().is_some_and(|s| !s.is_empty()),
                "{}: attributes.{n}.{member} missing",
                file.display()
            );
        }
    }
}

#[test]
fn the_envelope_is_valid_only_with_the_extension() {
    let e = envelope_event();
    expect(&e, &[]);
    assert!(reference_with_project_extensions().warnings(&e).is_empty());
    // plain OCSF 1.7.0: exactly the envelope members are unknown (metadata.extensions is
    // OCSF's own array of extension objects and stays valid)
    let want: Vec<(&str, C)> = PA_POINTERS
        .iter()
        .map(|p| (*p, C::UnknownAttribute))
        .collect();
    common::expect_with(reference(), &e, &want);
    // a minimal Tier 3 envelope: no raw_ref, no source_event_id
    let mut t3 = envelope_event();
    for p in [
        "/metadata/raw_ref",
        "/metadata/raw_refs",
        "/metadata/source_event_id",
        "/metadata/collector_version",
        "/metadata/synthetic_correlation_marker",
        "/metadata/synthetic_correlation_marker_digest",
    ] {
        common::remove(&mut t3, p);
    }
    common::set(&mut t3, "/metadata/identity_tier", json!(3));
    expect(&t3, &[]);
}

#[test]
fn envelope_types_enumerations_and_constraints() {
    expect(
        &with("/metadata/identity_tier", json!("1")),
        &[("/metadata/identity_tier", C::WrongType)],
    );
    expect(
        &with("/metadata/identity_tier", json!(4)),
        &[("/metadata/identity_tier", C::InvalidEnumValue)],
    );
    expect(
        &with("/metadata/run_id", json!(7)),
        &[("/metadata/run_id", C::WrongType)],
    );
    expect(
        &with("/metadata/source_event_id", json!(4242)),
        &[("/metadata/source_event_id", C::WrongType)],
    );
    expect(
        &with("/metadata/raw_ref/kind", json!("dataset_row_v2")),
        &[("/metadata/raw_ref/kind", C::InvalidEnumValue)],
    );
    expect(
        &with("/metadata/raw_ref/bogus", json!(1)),
        &[("/metadata/raw_ref/bogus", C::UnknownAttribute)],
    );
    expect(
        &with("/metadata/raw_ref", json!("raw_parquet/x")),
        &[("/metadata/raw_ref", C::WrongType)],
    );
    expect(
        &with(
            "/metadata/raw_refs",
            json!({"kind": "file_cursor_v1", "path": "p", "cursor": "li:1"}),
        ),
        &[("/metadata/raw_refs", C::NotAnArray)],
    );
    expect(
        &with(
            "/metadata/raw_ref",
            json!({"kind": "file_cursor_v1", "cursor": "li:1"}),
        ),
        &[("/metadata/raw_ref/path", C::MissingRequired)],
    );
    // a reference locates its record by a row locator or a cursor, not both, not neither
    expect(
        &with("/metadata/raw_ref/cursor", json!("li:1")),
        &[("/metadata/raw_ref", C::ConstraintFailed)],
    );
    expect(
        &with(
            "/metadata/raw_refs/0",
            json!({"kind": "file_cursor_v1", "path": "raw/a"}),
        ),
        &[("/metadata/raw_refs/0", C::ConstraintFailed)],
    );
    // row_locator is json_t: any JSON
    expect(
        &with("/metadata/raw_ref/row_locator", json!([1, "x", null])),
        &[],
    );
    // required envelope members of a declaring event
    let mut e = envelope_event();
    common::remove(&mut e, "/metadata/run_id");
    common::remove(&mut e, "/metadata/identity_tier");
    expect(
        &e,
        &[
            ("/metadata/identity_tier", C::MissingRequired),
            ("/metadata/run_id", C::MissingRequired),
        ],
    );
}

#[test]
fn events_must_declare_the_extension() {
    let undeclared: Vec<(&str, C)> = PA_POINTERS
        .iter()
        .map(|p| (*p, C::UndeclaredExtension))
        .collect();
    let mut e = envelope_event();
    common::remove(&mut e, "/metadata/extensions");
    expect(&e, &undeclared);
    // another extension does not count; neither does a near name
    expect(
        &with(
            "/metadata/extensions",
            json!([{"name": "win", "uid": "2", "version": "1.7.0"}]),
        ),
        &undeclared,
    );
    expect(
        &with(
            "/metadata/extensions",
            json!([{"name": "purple-axiom", "uid": "999", "version": "0.1.0"}]),
        ),
        &undeclared,
    );
    // the declaration may sit among others
    expect(
        &with(
            "/metadata/extensions",
            json!([
                {"name": "win", "uid": "2", "version": "1.7.0"},
                {"name": "purple_axiom", "uid": "999", "version": "0.1.0"},
            ]),
        ),
        &[],
    );
    // an event that does not declare the extension is not bound by its requirements: a
    // plain OCSF event stays valid with the extended schema
    let mut plain = envelope_event();
    for p in PA_POINTERS {
        common::remove(&mut plain, p);
    }
    common::remove(&mut plain, "/metadata/extensions");
    expect(&plain, &[]);
    common::expect_with(reference(), &plain, &[]);
    // ... while a declaring one is
    let mut declaring = plain.clone();
    common::set(
        &mut declaring,
        "/metadata/extensions",
        json!([{"name": "purple_axiom", "uid": "999", "version": "0.1.0"}]),
    );
    expect(
        &declaring,
        &[
            ("/metadata/event_id", C::MissingRequired),
            ("/metadata/identity_tier", C::MissingRequired),
            ("/metadata/normalizer_version", C::MissingRequired),
            ("/metadata/run_id", C::MissingRequired),
            ("/metadata/scenario_id", C::MissingRequired),
            ("/metadata/source_type", C::MissingRequired),
        ],
    );
}

#[test]
fn the_old_envelope_shape_is_still_not_an_array() {
    // what the normalizer emitted before this extension: the raw reference under an object
    // valued metadata.extensions
    let mut e = envelope_event();
    let raw_ref = common::remove(&mut e, "/metadata/raw_ref");
    common::remove(&mut e, "/metadata/raw_refs");
    common::set(
        &mut e,
        "/metadata/extensions",
        json!({"purple_axiom": {"raw_ref": raw_ref}}),
    );
    // the object cannot declare anything, so the envelope members are undeclared as well
    let mut want: Vec<(&str, C)> = vec![("/metadata/extensions", C::NotAnArray)];
    want.extend(
        PA_POINTERS
            .iter()
            .filter(|p| !p.starts_with("/metadata/raw_ref"))
            .map(|p| (*p, C::UndeclaredExtension)),
    );
    want.sort();
    expect(&e, &want);
    let mut plain = vec![("/metadata/extensions", C::NotAnArray)];
    plain.extend(
        PA_POINTERS
            .iter()
            .filter(|p| !p.starts_with("/metadata/raw_ref"))
            .map(|p| (*p, C::UnknownAttribute)),
    );
    plain.sort();
    common::expect_with(reference(), &e, &plain);
}

#[test]
fn built_in_extension_classes_imply_their_extension() {
    let s = reference_with_project_extensions();
    // 201002 Registry Value Activity is a win class: its class_uid identifies the extension
    let reg = json!({
        "class_uid": 201002, "category_uid": 1, "activity_id": 1, "type_uid": 20100201,
        "severity_id": 1, "time": 1,
        "metadata": {"version": "1.7.0", "product": {"name": "Sysmon"}},
        "device": {"hostname": "h", "type_id": 2},
        "actor": {"process": {"pid": 1, "hosted_services": [{"name": "svc", "cmd_line": "svchost.exe -k netsvcs"}]}},
        "reg_value": {"path": "HKLM\\Software\\x", "name": "v"},
    });
    common::expect_with(s, &reg, &[]);
    common::expect_with(reference(), &reg, &[]);
    // a win attribute patched into a core object of a core class must be declared
    let ev = with(
        "/process/hosted_services",
        json!([{"name": "svc", "cmd_line": "svchost.exe -k netsvcs"}]),
    );
    expect(&ev, &[("/process/hosted_services", C::UndeclaredExtension)]);
    let mut ok = ev.clone();
    common::set(
        &mut ok,
        "/metadata/extensions/1",
        json!({"name": "win", "uid": "2", "version": "1.7.0"}),
    );
    expect(&ok, &[]);
    // a Purple Axiom member in a win class still needs purple_axiom declared
    let mut reg_pa = reg.clone();
    common::set(&mut reg_pa, "/metadata/scenario_id", json!("s"));
    common::expect_with(
        s,
        &reg_pa,
        &[("/metadata/scenario_id", C::UndeclaredExtension)],
    );
}

/// A fresh copy of the project extension in a temporary directory, to break.
struct ExtCopy {
    dir: PathBuf,
}

impl ExtCopy {
    fn new() -> ExtCopy {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "pa-ocsf-ext-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&project_extension_dir(), &dir);
        ExtCopy { dir }
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn load(&self) -> Result<OcsfSchema, SchemaError> {
        OcsfSchema::load_with_extensions(&reference_dir(), &[self.dir.as_path()])
    }

    fn err(&self) -> String {
        match self.load() {
            Ok(_) => panic!("expected a load error for {}", self.dir.display()),
            Err(e) => e.to_string(),
        }
    }
}

impl Drop for ExtCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    let rd = std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{}: cannot read the project extension: {e}", from.display()));
    for e in rd {
        let p = e.expect("entry").path();
        let target = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

#[test]
fn a_copy_loads_like_the_original() {
    let c = ExtCopy::new();
    let s = c.load().unwrap_or_else(|e| panic!("{e}"));
    common::expect_with(&s, &envelope_event(), &[]);
    // no extra directory: the same as load
    let plain = OcsfSchema::load_with_extensions(&reference_dir(), &[]).expect("loads");
    assert_eq!(plain.classes().count(), reference().classes().count());
    assert_eq!(plain.objects().count(), reference().objects().count());
    assert_eq!(s.objects().count(), reference().objects().count() + 1);
}

#[test]
fn malformed_extension_directories_are_errors_naming_the_file() {
    // invalid JSON in the dictionary: file, line and column
    let c = ExtCopy::new();
    c.write(
        "dictionary.json",
        "{\n  \"attributes\": {\n    \"run_id\": {,\n  }\n}\n",
    );
    match c.load() {
        Err(SchemaError::Json { path, line, .. }) => {
            assert_eq!(path, c.dir.join("dictionary.json"));
            assert_eq!(line, 3);
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("malformed dictionary accepted"),
    }
    // a dictionary whose attributes are not an object
    let c = ExtCopy::new();
    c.write("dictionary.json", r#"{"attributes": ["run_id"]}"#);
    let msg = c.err();
    assert!(
        msg.contains(&c.dir.join("dictionary.json").display().to_string())
            && msg.contains("\"attributes\" must be an object"),
        "{msg}"
    );
    // a dictionary entry that is not an object
    let c = ExtCopy::new();
    c.write(
        "dictionary.json",
        r#"{"attributes": {"run_id": "string_t"}}"#,
    );
    let msg = c.err();
    assert!(
        msg.contains(&c.dir.join("dictionary.json").display().to_string())
            && msg.contains("attributes.run_id"),
        "{msg}"
    );
    // a dictionary type that does not exist: the patch file and the dictionary are named
    let c = ExtCopy::new();
    let text = std::fs::read_to_string(c.dir.join("dictionary.json")).expect("read");
    c.write(
        "dictionary.json",
        &text.replacen(
            "\"type\": \"pa_raw_ref\"",
            "\"type\": \"pa_raw_reference\"",
            1,
        ),
    );
    let msg = c.err();
    assert!(
        msg.contains(&c.dir.join("objects/metadata.json").display().to_string())
            && msg.contains(&c.dir.join("dictionary.json").display().to_string())
            && msg.contains("pa_raw_reference"),
        "{msg}"
    );
    // a patched attribute no dictionary defines: the patch file is named
    let c = ExtCopy::new();
    c.write(
        "objects/metadata.json",
        r#"{"extends": "metadata", "attributes": {"run_idd": {"requirement": "required"}}}"#,
    );
    let msg = c.err();
    assert!(
        msg.contains(&c.dir.join("objects/metadata.json").display().to_string())
            && msg.contains("run_idd"),
        "{msg}"
    );
    // a patch of an object that does not exist
    let c = ExtCopy::new();
    c.write(
        "objects/nothing.json",
        r#"{"extends": "no_such_object", "attributes": {}}"#,
    );
    let msg = c.err();
    assert!(
        msg.contains(&c.dir.join("objects/nothing.json").display().to_string())
            && msg.contains("no_such_object"),
        "{msg}"
    );
    // extension.json: missing, without a uid, colliding with a built-in extension
    let c = ExtCopy::new();
    std::fs::remove_file(c.dir.join("extension.json")).expect("rm");
    let msg = c.err();
    assert!(
        msg.contains(&c.dir.display().to_string()) && msg.contains("extension.json"),
        "{msg}"
    );
    let c = ExtCopy::new();
    c.write(
        "extension.json",
        r#"{"name": "purple_axiom", "version": "0.1.0"}"#,
    );
    let msg = c.err();
    assert!(
        msg.contains("extension.json") && msg.contains("uid"),
        "{msg}"
    );
    let c = ExtCopy::new();
    c.write(
        "extension.json",
        r#"{"name": "purple_axiom", "uid": 2, "version": "0.1.0"}"#,
    );
    let msg = c.err();
    assert!(
        msg.contains("extension.json") && msg.contains("\"win\""),
        "{msg}"
    );
    // the same directory twice collides with itself
    let c = ExtCopy::new();
    let e = OcsfSchema::load_with_extensions(&reference_dir(), &[c.dir.as_path(), c.dir.as_path()])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("collides"), "{e}");
    // a directory that does not exist
    let missing = std::env::temp_dir().join("pa-ocsf-ext-test-no-such-dir");
    let e = OcsfSchema::load_with_extensions(&reference_dir(), &[missing.as_path()])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains(&missing.display().to_string()), "{e}");
}

#[test]
fn other_extension_directories_follow_the_same_rules() {
    // a third extension beside purple_axiom: dictionary, an object patch with an $include
    // of its own profile, a new object and a new class
    let c = ExtCopy::new();
    let acme = c.dir.join("acme");
    let w = |rel: &str, v: Value| {
        let p = acme.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    };
    w(
        "extension.json",
        json!({"name": "acme", "uid": 998, "version": "1.0.0"}),
    );
    w(
        "dictionary.json",
        json!({"attributes": {
            "acme_score": {"caption": "Score", "description": "d", "type": "integer_t"},
            "acme_tag": {"caption": "Tag", "description": "d", "type": "string_t"},
            "acme_gadget": {"caption": "Gadget", "description": "d", "type": "acme_gadget"},
        }}),
    );
    w(
        "profiles/scoring.json",
        json!({"name": "scoring", "meta": "profile", "caption": "Scoring",
        "attributes": {"acme_tag": {"requirement": "optional"}}}),
    );
    w(
        "objects/process.json",
        json!({"extends": "process", "attributes": {
        "$include": ["profiles/scoring.json"],
        "acme_score": {"requirement": "optional"}}}),
    );
    w(
        "objects/acme_gadget.json",
        json!({"name": "acme_gadget", "extends": "object",
        "attributes": {"name": {"requirement": "required"}}}),
    );
    w(
        "events/gadget_activity.json",
        json!({"name": "gadget_activity", "uid": 7,
        "caption": "Gadget Activity", "extends": "system", "attributes": {
            "activity_id": {"enum": {"1": {"caption": "Poke"}}},
            "acme_gadget": {"requirement": "required"}}}),
    );
    let s = OcsfSchema::load_with_extensions(&reference_dir(), &[c.dir.as_path(), acme.as_path()])
        .unwrap_or_else(|e| panic!("{e}"));
    let class = s
        .class(998 * 100_000 + 1000 + 7)
        .expect("99801007 = 998 × 100000 + 1 × 1000 + 7");
    assert_eq!(class.extension.as_deref(), Some("acme"));
    assert!(s.profiles().contains("acme/scoring"));
    let p = s.object("process").expect("process");
    assert_eq!(
        p.attributes["acme_score"].extension.as_deref(),
        Some("acme")
    );
    assert_eq!(
        p.attributes["acme_tag"].profile.as_deref(),
        Some("acme/scoring")
    );
    assert_eq!(
        p.attributes["hosted_services"].extension.as_deref(),
        Some("win")
    );
    assert_eq!(p.attributes["auid"].extension.as_deref(), Some("linux"));
    assert_eq!(p.attributes["pid"].extension, None);
    // process_entity is not process: the patch does not reach it
    assert!(
        !s.object("process_entity")
            .expect("process_entity")
            .attributes
            .contains_key("acme_score")
    );

    let gadget = json!({
        "class_uid": 99801007, "category_uid": 1, "activity_id": 1, "type_uid": 9980100701_i64,
        "severity_id": 1, "time": 1, "metadata": {"version": "1.7.0", "product": {"name": "p"}},
        "acme_gadget": {"name": "g"},
        "device": {"hostname": "h", "type_id": 2}, "actor": {"process": {"pid": 1}},
    });
    common::expect_with(&s, &gadget, &[]);
    let mut bad = gadget.clone();
    common::set(&mut bad, "/acme_gadget", json!({}));
    common::expect_with(&s, &bad, &[("/acme_gadget/name", C::MissingRequired)]);

    let mut ev = with("/process/acme_score", json!(3));
    common::expect_with(&s, &ev, &[("/process/acme_score", C::UndeclaredExtension)]);
    common::set(
        &mut ev,
        "/metadata/extensions/1",
        json!({"name": "acme", "uid": "998", "version": "1.0.0"}),
    );
    common::expect_with(&s, &ev, &[]);
    common::set(&mut ev, "/process/acme_score", json!("3"));
    common::expect_with(&s, &ev, &[("/process/acme_score", C::WrongType)]);
    // a profile attribute of an extension is governed by its profile (named after it)
    let mut ev = with("/process/acme_tag", json!("t"));
    common::expect_with(&s, &ev, &[("/process/acme_tag", C::UndeclaredProfile)]);
    common::set(&mut ev, "/metadata/profiles", json!(["acme/scoring"]));
    common::expect_with(&s, &ev, &[]);
}
