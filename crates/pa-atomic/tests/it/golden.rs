//! The Purple Axiom reference fixtures of the Atomic runner: the T1059.001 golden (resolved
//! inputs, their digest, `command_post_merge`, the action key basis and key), the
//! `pa.template_atomic.v1` parser vectors and the atomic-template lint cases.

use std::collections::BTreeMap;
use std::path::Path;

use pa_atomic::template::{self, Segment};
use pa_atomic::{
    ActionKeyBasis, AtomicError, AtomicsRoot, RequirementsOverride, TestSelector, resolve,
};
use pa_yaml::FileErrorKind;
use serde_json::{Value, json};

use crate::common::{fixtures, read, read_json};

#[test]
fn t1059_001_golden_reproduces_exactly() {
    let g = fixtures().join("runner/atomic/golden/T1059.001");
    // The fixture's synthetic source is not the YAML its authors meant: an unquoted
    // `display_name: Command and Scripting Interpreter: PowerShell` holds a second `: ` (no
    // YAML parser accepts it; upstream quotes it), and in the plain scalars
    // `command: powershell.exe -NoProfile -Command #{command}; ...` and `cleanup_command`,
    // ` #` starts a YAML comment, so they would end before their first placeholder (upstream
    // writes commands as block scalars). We check the refusal, then load the source with those
    // three values single-quoted, and check the result against the fixture's own extraction.
    let e = AtomicsRoot::new(g.join("source/atomics"))
        .load("T1059.001")
        .unwrap_err();
    assert!(
        matches!(&e, AtomicError::File(f) if f.line == 2 && f.kind == FileErrorKind::Decode),
        "{e}"
    );
    let text = read(&g.join("source/atomics/T1059.001/T1059.001.yaml"));
    let mut repaired = 0;
    let fixed: Vec<String> = text
        .lines()
        .map(|line| {
            for key in ["display_name: ", "command: ", "cleanup_command: "] {
                if let Some(at) = line.find(key) {
                    let (head, value) = line.split_at(at + key.len());
                    if line[..at].trim().is_empty() && !value.contains('\'') {
                        repaired += 1;
                        return format!("{head}'{value}'");
                    }
                }
            }
            line.to_string()
        })
        .collect();
    assert_eq!(repaired, 3, "the fixture changed: revisit this repair");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("T1059.001")).unwrap();
    std::fs::write(
        dir.path().join("T1059.001/T1059.001.yaml"),
        fixed.join("\n"),
    )
    .unwrap();
    let technique = AtomicsRoot::new(dir.path()).load("T1059.001").unwrap();
    assert_eq!(
        technique.display_name,
        "Command and Scripting Interpreter: PowerShell"
    );
    let extracted = read_json(&g.join("extracted/atomic_test_extracted.json"));
    let guid = extracted["engine_test_id"].as_str().unwrap();
    let sel = technique.select(TestSelector::Guid(guid)).unwrap();
    let test = sel.test();

    // The model agrees with the fixture's extraction of the same YAML.
    assert_eq!(technique.technique_id, extracted["technique_id"]);
    assert_eq!(test.name, extracted["name"]);
    assert_eq!(
        json!(test.supported_platforms),
        extracted["supported_platforms"]
    );
    let defaults: BTreeMap<&str, Value> = test
        .input_arguments
        .iter()
        .map(|(k, a)| (k.as_str(), json!({ "default": a.default })))
        .collect();
    assert_eq!(json!(defaults), extracted["input_arguments"]);
    assert_eq!(test.executor.name.as_str(), extracted["executor"]["name"]);
    assert_eq!(
        json!(test.executor.command.0),
        extracted["executor"]["command"]
    );
    assert_eq!(
        json!(test.executor.cleanup_command.0),
        extracted["executor"]["cleanup_command"]
    );

    // Inputs: scenario values over defaults, `$ATOMICS_ROOT` in the identity form.
    let overrides: BTreeMap<String, String> =
        serde_json::from_value(read_json(&g.join("inputs/input_args_override.json"))).unwrap();
    let resolved = resolve(&sel, &overrides, r"C:\AtomicRedTeam\atomics").unwrap();
    let want_inputs = read_json(&g.join("inputs/resolved_inputs.json"));
    assert_eq!(json!(resolved.inputs), want_inputs);

    // resolved_inputs_sha256 from the real resolved inputs (the fixture has no alias key).
    let identity = resolved.identity_inputs().unwrap();
    assert_eq!(identity.to_json(), want_inputs);
    let sha = identity.sha256().unwrap();
    assert_eq!(
        sha,
        read(&g.join("inputs/resolved_inputs_sha256.txt")).trim()
    );

    // The canonical expanded command, byte for byte.
    assert_eq!(
        resolved.command.canonical.join("\n"),
        read(&g.join("execution/command_post_merge.txt"))
    );
    assert_eq!(
        resolved.command.actual,
        vec![
            r"powershell.exe -NoProfile -Command whoami; Write-Output C:\AtomicRedTeam\atomics\T1059.001\src\payload.ps1"
        ]
    );
    assert_eq!(
        resolved.cleanup_command.canonical,
        vec![
            r"powershell.exe -NoProfile -Command Remove-Item $ATOMICS_ROOT\T1059.001\src\payload.ps1 -ErrorAction SilentlyContinue"
        ]
    );

    // The action key basis (the target asset comes from the fixture: it is a scenario input).
    let want_basis: ActionKeyBasis =
        serde_json::from_value(read_json(&g.join("identity/action_key_basis_v1.json"))).unwrap();
    let basis = ActionKeyBasis::new(
        "atomic",
        &resolved.technique_id,
        &resolved.engine_test_id,
        &sha,
        &want_basis.target_asset_id,
    );
    assert_eq!(basis, want_basis);
    assert_eq!(
        basis.action_key().unwrap(),
        read(&g.join("identity/action_key.txt")).trim()
    );

    // ADR-0009: a scenario without principal alias and requirements hashes exactly this map;
    // naming either changes the digest.
    assert_eq!(resolved.identity(None, None).unwrap(), identity);
    let alias = resolved.identity(Some("admin"), None).unwrap();
    let declared = RequirementsOverride {
        privilege: Some("admin".into()),
        ..Default::default()
    };
    let required = resolved.identity(None, Some(&declared)).unwrap();
    assert_eq!(
        required.to_json()["__pa_action_requirements_v1"],
        json!({"platform": {"os": ["windows"]}, "privilege": "admin", "tools": ["powershell"]})
    );
    for other in [alias, required] {
        assert_ne!(other.sha256().unwrap(), sha);
    }
}

fn ast(segments: &[Segment<'_>]) -> Value {
    let segs: Vec<Value> = segments
        .iter()
        .map(|s| match s {
            Segment::Literal(t) => json!({"kind": "literal", "text": t}),
            Segment::Placeholder(n) => json!({"kind": "placeholder", "name": n}),
        })
        .collect();
    json!({ "segments": segs })
}

#[test]
fn template_parser_vectors_reproduce() {
    let v = read_json(&fixtures().join("parser_modules/template_atomic_v1/vectors.json"));
    assert_eq!(v["module_token"], template::MODULE_TOKEN);
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 12, "expected the template vectors");
    for c in cases {
        let id = &c["case_id"];
        let input = c["input"]["utf8"].as_str().unwrap();
        match template::parse(input) {
            Ok(segments) => {
                assert_eq!(c["expect_ok"], true, "{id}: parsed but should fail");
                assert_eq!(ast(&segments), c["expected_ast"], "{id}");
            }
            Err(e) => {
                assert_eq!(c["expect_ok"], false, "{id}: {e}");
                let want = &c["expected_errors"][0];
                assert_eq!(e.code.as_str(), want["error_code"], "{id}");
                assert_eq!(
                    json!(e.byte_offset),
                    want["location"]["byte_offset"],
                    "{id}"
                );
                let prefix = want["message_prefix"].as_str().unwrap();
                assert!(e.to_string().starts_with(prefix), "{id}: {e}");
            }
        }
    }
}

fn lint_case(case: &str) -> std::path::PathBuf {
    fixtures().join("lint/atomic_template/v1").join(case)
}

fn first_test_error(root: &Path, technique_id: &str) -> AtomicError {
    let t = AtomicsRoot::new(root).load(technique_id).unwrap();
    let sel = t.select(TestSelector::Number(1)).unwrap();
    resolve(&sel, &BTreeMap::new(), "/atomics").unwrap_err()
}

#[test]
fn lint_cases_fail_with_the_expected_rule() {
    let e = first_test_error(
        &lint_case("atomic_template_invalid_placeholder_syntax").join("inputs/atomics"),
        "T0001",
    );
    match &e {
        AtomicError::PlaceholderSyntax { field, error, .. } => {
            assert_eq!(field, "executor.command[0]");
            assert_eq!(error.code.as_str(), "invalid_placeholder_name_start");
            assert_eq!(error.byte_offset, 7);
        }
        other => panic!("{other}"),
    }
    assert_eq!(e.reason_code(), "unresolved_placeholder");

    let e = first_test_error(
        &lint_case("atomic_template_missing_engine_test_id").join("inputs/atomics"),
        "T0004",
    );
    assert_eq!(e.reason_code(), "missing_engine_test_id");
    assert!(
        e.to_string()
            .ends_with("auto_generated_guid (engine_test_id) must be a non-empty string"),
        "{e}"
    );

    for (case, id, want_field, want_name, declared) in [
        (
            "atomic_template_undefined_placeholder_in_command",
            "T0002",
            "executor.command[0]",
            "MISSING",
            vec!["command"],
        ),
        (
            "atomic_template_undefined_placeholder_in_default",
            "T0003",
            "input_arguments.A.default",
            "B",
            vec!["A"],
        ),
    ] {
        match first_test_error(&lint_case(case).join("inputs/atomics"), id) {
            AtomicError::UnresolvedPlaceholder {
                field,
                name,
                declared: d,
                ..
            } => {
                assert_eq!((field.as_str(), name.as_str()), (want_field, want_name));
                assert_eq!(d, declared);
            }
            other => panic!("{case}: {other}"),
        }
    }

    for (case, root, id) in [
        (
            "atomic_template_technique_yaml_missing",
            "inputs/atomics",
            "T0005",
        ),
        ("scenario_atomic_yaml_not_found", "inputs/atomics", "T0006"),
    ] {
        let e = AtomicsRoot::new(lint_case(case).join(root))
            .load(id)
            .unwrap_err();
        assert_eq!(e.reason_code(), "atomic_yaml_not_found", "{case}: {e}");
        assert!(
            e.to_string().contains(&format!("{id}/{id}.yaml")),
            "{case}: {e}"
        );
    }
}

#[test]
fn command_material_reproduces_the_reference_command_sha256() {
    let basis = fixtures().join("hash_basis");
    let m: pa_atomic::CommandMaterial = serde_json::from_slice(
        &std::fs::read(basis.join("command_material_v1_redacted.json")).unwrap(),
    )
    .unwrap();
    let want = read(&basis.join("command_material_v1_redacted.expected.command_sha256"));
    assert_eq!(m.sha256().unwrap(), want.trim());
    let mut other = m.clone();
    other.argv_redacted.push("-x".into());
    assert_ne!(other.sha256().unwrap(), want.trim());
}
