//! `atomic-template`: Atomic Red Team technique files in the upstream layout
//! (`atomics/<T>/<T>.yaml`), checked with `pa-atomic`'s model and `pa.template_atomic.v1`
//! parser as the runner reads them.
//!
//! * a technique folder without its technique file: `lint-atomic-template-technique-yaml-missing`;
//! * a file that does not decode strictly, or uses anchors: `lint-core-parse-error`;
//! * `attack_technique` that is not the folder's technique: `lint-atomic-template-technique-id-mismatch`;
//! * a test without `auto_generated_guid` (its `engine_test_id`):
//!   `lint-atomic-template-missing-engine-test-id`;
//! * every text the runner substitutes (executor and cleanup commands, dependency commands,
//!   manual steps, input defaults): placeholder syntax
//!   (`lint-atomic-template-invalid-input-placeholder-syntax`) and names the test does not
//!   declare (`lint-atomic-template-undefined-input-placeholder`);
//! * a declared input nothing references: `lint-atomic-template-unused-input-argument`
//!   (warning), only for a test whose placeholders all parse and resolve: otherwise the
//!   placeholder is the finding (its hint lists the declared inputs), and the unused input is
//!   most likely the name it meant.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pa_atomic::model::is_technique_id;
use pa_atomic::template::{self, MODULE_TOKEN};
use pa_atomic::{AtomicTest, Commands, ExecutorName, Technique};
use pa_yaml::outline::{Document, NodeKind, escape_pointer_token};
use serde_json::json;

use crate::files::{self, PARSE_ERROR};
use crate::{Ctx, Finding, Severity};

const MISSING_YAML: &str = "lint-atomic-template-technique-yaml-missing";
const ID_MISMATCH: &str = "lint-atomic-template-technique-id-mismatch";
const MISSING_GUID: &str = "lint-atomic-template-missing-engine-test-id";
const SYNTAX: &str = "lint-atomic-template-invalid-input-placeholder-syntax";
const UNDEFINED: &str = "lint-atomic-template-undefined-input-placeholder";
const UNUSED: &str = "lint-atomic-template-unused-input-argument";

/// Lint an atomics folder, one technique folder, or one technique file.
pub(crate) fn lint(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    if path.is_file() {
        let expected = path
            .parent()
            .and_then(|d| d.file_name())
            .and_then(|n| n.to_str())
            .filter(|n| is_technique_id(n))
            .map(str::to_string);
        return lint_file(ctx, path, expected.as_deref());
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let technique_dirs: Vec<PathBuf> = if is_technique_id(name) {
        vec![path.to_path_buf()]
    } else {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.is_dir()
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(is_technique_id)
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for dir in technique_dirs {
        let id = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let file = dir.join(format!("{id}.yaml"));
        if file.is_file() {
            out.extend(lint_file(ctx, &file, Some(&id)));
        } else {
            let shown = ctx.display(&file);
            out.push(
                Finding::new(
                    &shown,
                    "",
                    MISSING_YAML,
                    Severity::Error,
                    format!("Missing technique YAML at {shown}"),
                )
                .hint(format!(
                    "add {shown}, or remove the folder {}",
                    ctx.display(&dir)
                )),
            );
        }
    }
    out
}

/// One technique file; `expected` is the technique id its folder names.
pub(crate) fn lint_file(ctx: &Ctx, path: &Path, expected: Option<&str>) -> Vec<Finding> {
    let parsed = match files::parse(ctx, path, true) {
        Ok(p) => p,
        Err(f) => return vec![*f],
    };
    let doc = parsed.doc();
    let technique = match Technique::parse(path, &parsed.text) {
        Ok(t) => t,
        Err(e) => return vec![files::file_error(ctx, &e, Some(&doc), PARSE_ERROR)],
    };
    let file = ctx.display(path);
    let mut out = Vec::new();
    if let Some(id) = expected {
        if technique.technique_id != id {
            out.push(
                Finding::new(
                    &file,
                    "/attack_technique",
                    ID_MISMATCH,
                    Severity::Error,
                    format!(
                        "attack_technique is {:?} but the file is the technique file of {id}",
                        technique.technique_id
                    ),
                )
                .at_mark(doc.locate("/attack_technique"))
                .hint(format!("set attack_technique: {id}")),
            );
        }
    }
    for (i, test) in technique.tests.iter().enumerate() {
        out.extend(lint_test(&file, &doc, i, test));
    }
    out
}

/// The texts of a test the runner substitutes: (JSON pointer, text).
fn template_texts(doc: &Document, base: &str, test: &AtomicTest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut commands = |pointer: String, c: &Commands| {
        let seq = matches!(doc.get(&pointer).map(|n| &n.kind), Some(NodeKind::Sequence));
        for (j, text) in c.as_slice().iter().enumerate() {
            let p = if seq {
                format!("{pointer}/{j}")
            } else {
                pointer.clone()
            };
            out.push((p, text.clone()));
        }
    };
    let ex = &test.executor;
    commands(format!("{base}/executor/command"), &ex.command);
    commands(
        format!("{base}/executor/cleanup_command"),
        &ex.cleanup_command,
    );
    for (k, d) in test.dependencies.iter().enumerate() {
        commands(
            format!("{base}/dependencies/{k}/prereq_command"),
            &d.prereq_command,
        );
        commands(
            format!("{base}/dependencies/{k}/get_prereq_command"),
            &d.get_prereq_command,
        );
    }
    if ex.name == ExecutorName::Manual {
        if let Some(s) = &ex.steps {
            out.push((format!("{base}/executor/steps"), s.clone()));
        }
    }
    for (name, arg) in &test.input_arguments {
        if let Some(d) = &arg.default {
            out.push((
                format!(
                    "{base}/input_arguments/{}/default",
                    escape_pointer_token(name)
                ),
                d.clone(),
            ));
        }
    }
    out
}

fn lint_test(file: &str, doc: &Document, i: usize, test: &AtomicTest) -> Vec<Finding> {
    let base = format!("/atomic_tests/{i}");
    let mut out = Vec::new();
    if test.guid().is_none() {
        let p = format!("{base}/auto_generated_guid");
        out.push(
            Finding::new(
                file,
                &p,
                MISSING_GUID,
                Severity::Error,
                "auto_generated_guid (engine_test_id) must be a non-empty string",
            )
            .at_mark(doc.locate(&p))
            .hint("give the test a GUID (upstream's tooling generates one: auto_generated_guid: <uuid>)"),
        );
    }
    let declared: Vec<String> = test.input_arguments.keys().cloned().collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let before = out.len();
    for (pointer, text) in template_texts(doc, &base, test) {
        match template::parse(&text) {
            Err(e) => out.push(
                Finding::new(
                    file,
                    &pointer,
                    SYNTAX,
                    Severity::Error,
                    format!("{MODULE_TOKEN}: {}", e.code.as_str()),
                )
                .details(json!({
                    "error_code": e.code.as_str(),
                    "location": {"byte_offset": e.byte_offset},
                    "message_prefix": format!("{MODULE_TOKEN}: "),
                    "module_token": MODULE_TOKEN,
                }))
                .at_mark(doc.locate(&pointer))
                .hint(
                    "a placeholder is #{name}: a letter or _ first, then letters, digits, _ or -; \
                     write a literal #{ some other way",
                ),
            ),
            Ok(_) => {
                for name in template::placeholders(&text).unwrap_or_default() {
                    used.insert(name.to_string());
                    if !test.input_arguments.contains_key(name) {
                        out.push(
                            Finding::new(
                                file,
                                &pointer,
                                UNDEFINED,
                                Severity::Error,
                                format!("Undefined input placeholder: {name}"),
                            )
                            .details(json!({
                                "declared_keys": declared,
                                "placeholder_name": name,
                            }))
                            .at_mark(doc.locate(&pointer))
                            .hint(format!(
                                "declare it under input_arguments ({name}: {{description, type, default}}) or use one of: {}",
                                if declared.is_empty() { "(none declared)".to_string() } else { declared.join(", ") }
                            )),
                        );
                    }
                }
            }
        }
    }
    // Dependency descriptions are prose: substituted when they parse, so they count as uses.
    for d in &test.dependencies {
        if let Some(text) = &d.description {
            for name in template::placeholders(text).unwrap_or_default() {
                used.insert(name.to_string());
            }
        }
    }
    let placeholders_ok = out.len() == before;
    for name in declared.iter().filter(|_| placeholders_ok) {
        if !used.contains(name) {
            let p = format!("{base}/input_arguments/{}", escape_pointer_token(name));
            out.push(
                Finding::new(
                    file,
                    &p,
                    UNUSED,
                    Severity::Warning,
                    format!("Input argument {name} is declared but no command, default or step uses #{{{name}}}"),
                )
                .at_mark(doc.locate(&p))
                .hint(format!("use #{{{name}}} where the value belongs, or remove the input")),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(root: &Path) -> Ctx {
        Ctx::for_test(root, false)
    }

    fn lint_text(text: &str) -> Vec<Finding> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("atomics/T0001/T0001.yaml");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        let mut f = lint(&ctx(d.path()), &d.path().join("atomics"));
        crate::sort_findings(&mut f);
        f
    }

    #[test]
    fn commands_lists_defaults_and_unused_inputs() {
        let test = "attack_technique: T0001\ndisplay_name: x\natomic_tests:\n- name: t\n  auto_generated_guid: 11111111-1111-1111-1111-111111111111\n  input_arguments:\n    used: {description: u, type: string, default: '#{other}'}\n    other: {description: o, type: string, default: x}\n    spare: {description: s, type: string, default: y}\n  executor:\n    name: bash\n    command: ['echo #{used}', 'echo #{nope}']\n    cleanup_command: 'rm #{bad name}'\n";
        let f = lint_text(test);
        let got: Vec<(&str, &str, u64)> = f
            .iter()
            .map(|f| (f.rule_id.as_str(), f.instance_path.as_str(), f.line))
            .collect();
        // the undefined placeholder is the finding; unused inputs wait until every name resolves
        assert_eq!(
            got,
            vec![
                (SYNTAX, "/atomic_tests/0/executor/cleanup_command", 13),
                (UNDEFINED, "/atomic_tests/0/executor/command/1", 12),
            ]
        );
        assert_eq!(
            f[1].details.as_ref().unwrap()["declared_keys"],
            json!(["other", "spare", "used"])
        );
        assert_eq!(
            f[0].details.as_ref().unwrap()["error_code"],
            "invalid_placeholder_name_char"
        );
        let clean = test
            .replace("'echo #{nope}'", "'echo ok'")
            .replace("rm #{bad name}", "rm x");
        let f = lint_text(&clean);
        let got: Vec<(&str, &str, u64, Severity)> = f
            .iter()
            .map(|f| {
                (
                    f.rule_id.as_str(),
                    f.instance_path.as_str(),
                    f.line,
                    f.severity,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![(
                UNUSED,
                "/atomic_tests/0/input_arguments/spare",
                9,
                Severity::Warning
            )]
        );
    }

    #[test]
    fn folder_and_identity_checks() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("atomics/T0005/src")).unwrap();
        std::fs::create_dir_all(d.path().join("atomics/Indexes")).unwrap();
        let f = lint(&ctx(d.path()), &d.path().join("atomics"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].file, "atomics/T0005/T0005.yaml");
        assert_eq!(
            f[0].message,
            "Missing technique YAML at atomics/T0005/T0005.yaml"
        );
        let f = lint_text("attack_technique: T0002\ndisplay_name: x\natomic_tests: []\n");
        assert_eq!(f[0].rule_id, ID_MISMATCH);
        assert_eq!(f[0].line, 1);
        let f = lint_text("attack_technique: T0001\ndisplay_name: x\nextra: 1\natomic_tests: []\n");
        assert_eq!(f[0].rule_id, PARSE_ERROR);
        assert_eq!(f[0].line, 3);
        assert!(f[0].message.starts_with("YAML decode failed: "), "{f:?}");
    }
}
