//! `scenario`: `pa-config`'s decode and checks, then each action's Atomic test as the runner
//! would plan it (`pa-atomic`): the technique file exists
//! (`lint-scenario-atomic-yaml-not-found`), the test is found (`lint-scenario-test-not-found`)
//! and its inputs resolve with the scenario's `input_args` (`lint-scenario-input-resolution`,
//! with `pa-atomic`'s reason code).
//!
//! Two shapes are read: ours (`actions[]`, docs/config.md) and SPEC §3's single action
//! (`plan{type, technique_id, engine_test_id, input_args}`), whose references are checked the
//! same way (pointers under `/plan`).
//!
//! The atomics folder: `--atomics DIR`; else the `runner.atomic.atomics_root` of a
//! `range.yaml` beside the scenario (relative to it); else `<root>/atomics`. Beside a replay
//! range (`lab.provider: replay`) technique files are not read by a run, so they are not
//! checked either.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pa_atomic::{AtomicError, AtomicsRoot, TestSelector};
use pa_yaml::outline::{Document, NodeKind};
use serde_json::json;

use crate::files::{self, PARSE_ERROR};
use crate::{Ctx, Finding, Severity};

const NOT_FOUND: &str = "lint-scenario-atomic-yaml-not-found";
const TEST_NOT_FOUND: &str = "lint-scenario-test-not-found";
const RESOLUTION: &str = "lint-scenario-input-resolution";
const INVALID: &str = "lint-scenario-invalid";

/// What one action asks of the Atomic side.
struct ActionRef<'a> {
    /// JSON pointer of the action (`/actions/3`, `/plan`).
    base: String,
    technique_id: &'a str,
    selector: Option<TestSelector<'a>>,
    /// Pointer suffix of the selector's key.
    selector_key: &'static str,
    inputs: BTreeMap<String, String>,
}

/// Where a scenario's technique files are, or `None` when they are not needed.
fn atomics_for(ctx: &Ctx, scenario: &Path) -> Option<PathBuf> {
    if ctx.atomics_given {
        return Some(ctx.atomics.clone());
    }
    let dir = scenario.parent().unwrap_or(Path::new("."));
    let range = dir.join("range.yaml");
    if let Ok(r) = pa_config::RangeConfig::load(&range) {
        if r.lab.provider == pa_config::LabProvider::Replay {
            tracing::debug!(scenario = %scenario.display(), "replay range beside: technique files not checked");
            return None;
        }
        if let Some(root) = r.runner.atomic.atomics_root.as_deref() {
            return Some(dir.join(root));
        }
    }
    Some(ctx.atomics.clone())
}

/// Lint one scenario file.
pub(crate) fn lint(ctx: &Ctx, path: &Path) -> Vec<Finding> {
    let parsed = match files::parse(ctx, path, true) {
        Ok(p) => p,
        Err(f) => return vec![*f],
    };
    let doc = parsed.doc();
    let file = ctx.display(path);
    let spec_form = doc.top_level_keys().contains(&"plan");
    let config;
    let actions: Vec<ActionRef<'_>> = if spec_form {
        match plan_action(&doc) {
            Ok(a) => vec![a],
            Err((pointer, message)) => {
                return vec![
                    Finding::new(&file, &pointer, INVALID, Severity::Error, message)
                        .at_mark(doc.locate(&pointer)),
                ];
            }
        }
    } else {
        config = match pa_config::ScenarioConfig::parse(&parsed.text, path) {
            Ok(c) => c,
            Err(e) => return vec![files::file_error(ctx, &e, Some(&doc), INVALID)],
        };
        config
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (selector, selector_key) =
                    match (&a.engine_test_id, a.test_number, &a.test_name) {
                        (Some(g), _, _) => (Some(TestSelector::Guid(g)), "engine_test_id"),
                        (None, Some(n), _) => (Some(TestSelector::Number(n)), "test_number"),
                        (None, None, Some(n)) => (Some(TestSelector::Name(n)), "test_name"),
                        (None, None, None) => (None, ""),
                    };
                let mut inputs = a.input_args.clone();
                for k in a.secret_input_args.keys() {
                    // a secret's value is read when the action runs: any value resolves
                    inputs.insert(k.clone(), "<secret>".into());
                }
                ActionRef {
                    base: format!("/actions/{i}"),
                    technique_id: &a.technique_id,
                    selector,
                    selector_key,
                    inputs,
                }
            })
            .collect()
    };
    let Some(atomics) = atomics_for(ctx, path) else {
        return Vec::new();
    };
    let root = AtomicsRoot::new(&atomics);
    let mut out = Vec::new();
    for a in &actions {
        out.extend(check_action(ctx, &file, &doc, &root, a));
    }
    out
}

/// SPEC §3's `plan` block, read from the outline: `Err((pointer, message))` when it is not
/// usable.
fn plan_action(doc: &Document) -> Result<ActionRef<'_>, (String, String)> {
    let text = |p: &str| match doc.get(p).map(|n| &n.kind) {
        Some(NodeKind::Scalar { text, .. }) => Some(text.as_str()),
        _ => None,
    };
    if let Some(t) = text("/plan/type") {
        if t != "atomic" {
            return Err((
                "/plan/type".into(),
                format!(
                    "plan.type {t:?} is reserved: only \"atomic\" plans run (plan_type_reserved)"
                ),
            ));
        }
    }
    let technique_id = text("/plan/technique_id").ok_or_else(|| {
        (
            "/plan/technique_id".to_string(),
            "plan.technique_id must be a technique id (T1234 or T1234.567)".to_string(),
        )
    })?;
    let mut inputs = BTreeMap::new();
    for n in &doc.nodes {
        if let (Some(name), NodeKind::Scalar { text, .. }) =
            (n.pointer.strip_prefix("/plan/input_args/"), &n.kind)
        {
            if !name.contains('/') {
                let name = n.key.as_ref().map_or(name, |k| k.text.as_str());
                inputs.insert(name.to_string(), text.clone());
            }
        }
    }
    Ok(ActionRef {
        base: "/plan".into(),
        technique_id,
        selector: text("/plan/engine_test_id").map(TestSelector::Guid),
        selector_key: "engine_test_id",
        inputs,
    })
}

fn check_action(
    ctx: &Ctx,
    file: &str,
    doc: &Document,
    root: &AtomicsRoot,
    a: &ActionRef<'_>,
) -> Vec<Finding> {
    let at = |suffix: &str| {
        if suffix.is_empty() {
            a.base.clone()
        } else {
            format!("{}/{suffix}", a.base)
        }
    };
    let finding = |pointer: String, rule: &str, message: String| {
        let mark = doc.locate(&pointer);
        Finding::new(file, pointer, rule, Severity::Error, message).at_mark(mark)
    };
    let technique = match root.load(a.technique_id) {
        Ok(t) => t,
        Err(AtomicError::TechniqueNotFound { path, .. }) => {
            let shown = ctx.display(&path);
            return vec![
                finding(
                    at("technique_id"),
                    NOT_FOUND,
                    format!("Atomic technique YAML not found at {shown}"),
                )
                .hint(format!(
                    "check the technique id, or point pa-lint at the atomics folder holding it (--atomics DIR; looked in {})",
                    ctx.display(root.path())
                )),
            ];
        }
        Err(AtomicError::File(e)) => {
            return vec![
                files::file_error(ctx, &e, None, PARSE_ERROR)
                    .details(json!({"referenced_from": format!("{file}#{}", at("technique_id"))})),
            ];
        }
        Err(e) => {
            return vec![
                finding(at("technique_id"), INVALID, e.to_string())
                    .details(json!({"reason_code": e.reason_code()})),
            ];
        }
    };
    let Some(selector) = a.selector else {
        return Vec::new();
    };
    let sel = match technique.select(selector) {
        Ok(sel) => sel,
        Err(e) => {
            return vec![
                finding(at(a.selector_key), TEST_NOT_FOUND, e.to_string())
                    .details(json!({"reason_code": e.reason_code()})),
            ];
        }
    };
    match pa_atomic::resolve(&sel, &a.inputs, pa_atomic::ATOMICS_ROOT_TOKEN) {
        Ok(_) => Vec::new(),
        Err(e) => vec![
            finding(at("input_args"), RESOLUTION, e.to_string())
                .details(json!({"reason_code": e.reason_code()})),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TECHNIQUE: &str = "attack_technique: T0001\ndisplay_name: x\natomic_tests:\n- name: t\n  auto_generated_guid: 11111111-1111-1111-1111-111111111111\n  input_arguments:\n    who: {description: w, type: string}\n  executor: {name: sh, command: 'echo #{who}'}\n";

    fn setup() -> (tempfile::TempDir, Ctx) {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("atomics/T0001/T0001.yaml");
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::write(&t, TECHNIQUE).unwrap();
        let ctx = Ctx {
            root: d.path().to_path_buf(),
            atomics: d.path().join("atomics"),
            atomics_given: false,
            bridge: None,
        };
        (d, ctx)
    }

    fn run(ctx: &Ctx, text: &str) -> Vec<Finding> {
        let p = ctx.root.join("s/scenario.yaml");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        lint(ctx, &p)
    }

    #[test]
    fn actions_are_checked_against_the_technique_files() {
        let (_d, ctx) = setup();
        let f = run(
            &ctx,
            "scenario_id: s\nactions:\n  - {action_id: a, technique_id: T0009}\n  - {action_id: b, technique_id: T0001, engine_test_id: 11111111-1111-1111-1111-111111111111}\n  - {action_id: c, technique_id: T0001, engine_test_id: 11111111-1111-1111-1111-111111111111, input_args: {who: me}}\n  - {action_id: d, technique_id: T0001, test_number: 4}\n",
        );
        let got: Vec<(&str, &str)> = f
            .iter()
            .map(|f| (f.rule_id.as_str(), f.instance_path.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (NOT_FOUND, "/actions/0/technique_id"),
                (RESOLUTION, "/actions/1/input_args"),
                (TEST_NOT_FOUND, "/actions/3/test_number"),
            ]
        );
        assert_eq!(
            f[0].message,
            "Atomic technique YAML not found at atomics/T0009/T0009.yaml"
        );
        assert_eq!(f[0].line, 3);
        assert_eq!(
            f[1].details.as_ref().unwrap()["reason_code"],
            "missing_required_input"
        );
    }

    #[test]
    fn spec_plan_form_and_config_errors() {
        let (_d, ctx) = setup();
        let f = run(
            &ctx,
            "scenario_id: s\nplan:\n  type: atomic\n  technique_id: T0006\n",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].instance_path, "/plan/technique_id");
        assert_eq!((f[0].line, f[0].column), (4, 3));
        let f = run(
            &ctx,
            "scenario_id: s\nplan:\n  type: atomic\n  technique_id: T0001\n  engine_test_id: 11111111-1111-1111-1111-111111111111\n  input_args: {who: me}\n",
        );
        assert_eq!(f, vec![]);
        let f = run(
            &ctx,
            "scenario_id: s\nactions:\n  - {action_id: a, technique_id: nope}\n",
        );
        assert_eq!(f[0].rule_id, INVALID, "{f:?}");
        // beside a replay range, technique files are not needed
        std::fs::write(
            ctx.root.join("s/range.yaml"),
            "lab: {provider: replay}\nreplay: {ground_truth: gt.jsonl}\n",
        )
        .unwrap();
        let f = run(
            &ctx,
            "scenario_id: s\nactions:\n  - {action_id: a, technique_id: T0009}\n",
        );
        assert_eq!(f, vec![]);
    }
}
